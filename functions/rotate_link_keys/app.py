"""Secrets Manager rotation of the link key ring (LinkSecretRotation, every 30 days or on demand).

- createSecret: the next ring (`keyring.rotate_ring`) as the AWSPENDING version: a fresh key
  signs, the previous current key is retired now, and keys retired more than ValidityDays plus a
  day ago are dropped (every link and cursor they signed has expired).
- setSecret: nothing: no other system holds the keys.
- testSecret: the pending ring parses as the functions parse it, signs and verifies, and every
  link the current ring signs still verifies under it.
- finishSecret: AWSCURRENT moves to the pending version; containers see it within 5 minutes.

Each step may run again (Secrets Manager retries): each one is idempotent.
"""

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from invitations import runtime, snapstart
from invitations.keyring import InvalidKeyRing, KeyRing, rotate_ring
from invitations.observability import logger
from invitations.settings import get_settings
from invitations.tokens import TokenSigner

# Beyond ValidityDays: the ring's 5-minute cache, a dispatch the sweeper retries, clocks.
MARGIN = timedelta(days=1)
_PROBE_ID = "00000000000000000000000000000000"

snapstart.register("secretsmanager")  # SnapStart's runtime hooks, when it is on


def _now() -> datetime:
    return datetime.now(UTC)


def keep_for() -> timedelta:
    return timedelta(days=get_settings().validity_days) + MARGIN


def _value(client: Any, arn: str, **version: str) -> str:
    return str(client.get_secret_value(SecretId=arn, **version)["SecretString"])


def create_secret(client: Any, arn: str, token: str) -> None:
    current = _value(client, arn, VersionStage="AWSCURRENT")
    try:
        _value(client, arn, VersionId=token, VersionStage="AWSPENDING")
        logger.info("rotation: the pending ring exists already")
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    pending = rotate_ring(current, secrets.token_urlsafe(48), _now(), keep_for())
    client.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=pending, VersionStages=["AWSPENDING"])
    ring = KeyRing.parse(pending)
    logger.info("rotation: pending ring created", extra={"current_key": ring.current, "keys": sorted(ring.ids)})


def test_secret(client: Any, arn: str, token: str) -> None:
    current = KeyRing.parse(_value(client, arn, VersionStage="AWSCURRENT"))
    pending = KeyRing.parse(_value(client, arn, VersionId=token, VersionStage="AWSPENDING"))
    if pending.current == current.current or current.current not in pending.ids:
        raise InvalidKeyRing("the pending ring must sign with a new key and keep the current one")
    old, new = TokenSigner(current), TokenSigner(pending)
    for signed in (old.link_token(_PROBE_ID, 1), new.link_token(_PROBE_ID, 1)):
        if not new.verify(signed, _PROBE_ID, 1):
            raise InvalidKeyRing("a link signed now would not verify under the pending ring")
    cursor = old.sign_cursor("probe", {"before": "x"})
    if new.open_cursor("probe", cursor) != {"before": "x"}:
        raise InvalidKeyRing("a cursor signed now would not open under the pending ring")


def finish_secret(client: Any, arn: str, token: str) -> None:
    versions = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    current = next((version for version, stages in versions.items() if "AWSCURRENT" in stages), None)
    if current == token:
        logger.info("rotation: already finished")
        return
    client.update_secret_version_stage(
        SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current
    )
    logger.info("rotation: finished")


STEPS = {
    "createSecret": create_secret,
    "setSecret": lambda client, arn, token: None,  # the keys live in this secret only
    "testSecret": test_secret,
    "finishSecret": finish_secret,
}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step not in STEPS:
        raise ValueError(f"unknown rotation step {step!r}")
    client = runtime.client("secretsmanager")
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"].get(token)
    if stages and "AWSCURRENT" in stages:
        logger.info("rotation: the version is current already", extra={"step": step})
        return
    if stages and "AWSPENDING" not in stages:
        raise ValueError(f"version {token} of the secret is not pending")
    if not stages and step != "createSecret":  # createSecret writes the version; the others need it
        raise ValueError(f"version {token} of the secret has no stage for rotation")
    logger.info("rotation step", extra={"step": step})
    STEPS[step](client, arn, token)
