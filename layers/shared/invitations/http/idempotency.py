"""`Idempotency-Key` on sending: the same key and body again sends nothing more and answers the
first answer's status with the invitation **as it is now** (Powertools idempotency, records kept
in the service's table): its link is the one that works now, or none; deleted since: 404, as
`GET` would answer. This refines the contract's "returns the first answer" (docs/api.md): a
replayed dead link would send a patient to an error page.

The record holds only the invitation's id: no patient data, no link (a credential)."""

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from invitations import runtime
from invitations.domain.errors import Busy, IdempotencyKeyReused
from invitations.domain.invitation import Contact, Invitation
from invitations.http.presenters.invitations import invitation_out
from invitations.models.invitations import InvitationOut
from invitations.models.requests import InvitationCreate
from invitations.settings import get_settings
from invitations.use_cases import managing, sending
from invitations.use_cases.base import Clinician

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig

KEY_LIFETIME_SECONDS = 24 * 3600


# Powertools' idempotency (about 30 ms of imports) is loaded by the first request that carries a
# key: a cold start that sends without one does not pay for it.
@lru_cache(maxsize=1)
def _persistence() -> "BasePersistenceLayer":
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=get_settings().table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#send_invite",
        expiry_attr="ttl",  # the table's TTL attribute removes old records
        boto3_client=runtime.client("dynamodb"),
    )


@lru_cache(maxsize=1)
def _config() -> "IdempotencyConfig":
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        # The key is scoped to the clinician: another clinician's key can never replay this answer.
        event_key_jmespath="[clinician_id, idempotency_key]",
        payload_validation_jmespath="body",
        expires_after_seconds=KEY_LIFETIME_SECONDS,
        hash_function="sha256",
    )


def send_invitation(
    clinician: Clinician, request: InvitationCreate, idempotency_key: str | None, context: LambdaContext | None = None
) -> InvitationOut:
    services = runtime.services()
    contact = Contact(
        request.first_name, request.last_name, request.email, request.phone, request.locale, request.time_zone
    )
    if not idempotency_key:
        return invitation_out(sending.send(services, clinician, contact), services.clock.now(), services.links)

    sent: list[Invitation] = []

    def create(command: dict[str, Any]) -> dict[str, Any]:
        sent.append(sending.send(services, clinician, contact))
        return {"invitation_id": sent[0].id}

    command = {
        "clinician_id": clinician.id,
        "idempotency_key": idempotency_key,
        "body": request.model_dump(mode="json"),
    }
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = _config()
    if context is not None:
        config.register_lambda_context(context)  # an in-progress record expires with the invocation
    once = idempotent_function(data_keyword_argument="command", persistence_store=_persistence(), config=config)(create)
    try:
        stored = once(command=command)
    except IdempotencyValidationError:
        raise IdempotencyKeyReused() from None
    except IdempotencyAlreadyInProgressError:
        raise Busy("A request with this Idempotency-Key is still being processed; try again.") from None
    # A first call answers what it sent; a replay reads the invitation as it is now (404 if deleted).
    invitation = sent[0] if sent else managing.get(services, clinician, stored["invitation_id"])
    return invitation_out(invitation, services.clock.now(), services.links)
