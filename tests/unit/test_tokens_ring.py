"""The link key ring: tokens and cursors carry a key id and keep working across a rotation until
their key is dropped; 128 bits of MAC; the ring is read again once its lifetime is over; the SMS
keeps a 30-character name whole; the rotation function's four steps against moto."""

import base64
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.rotate_link_keys import app
from invitations import messages, runtime
from invitations.keyring import (
    RING_LIFETIME_SECONDS,
    Expiring,
    InvalidKeyRing,
    KeyRing,
    ring_document,
    rotate_ring,
    stable_secret,
)
from invitations.tokens import TokenSigner
from tests.support import FakeContext, handler_of

INVITATION = "0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KEEP = timedelta(days=15)
KEY_A = "a" * 64
KEY_B = "b" * 64
KEY_C = "c" * 64


def ring_of(current: int, **keys: str) -> str:
    return json.dumps({"current": current, **keys})


def test_a_token_names_its_key_and_carries_128_bits_of_mac():
    signer = TokenSigner(ring_of(7, k7=KEY_A))
    token = signer.link_token(INVITATION, 1)
    assert len(token) == 44
    assert signer.key_id_of(token) == 7
    assert signer.invitation_id_of(token) == INVITATION
    raw = base64.urlsafe_b64decode(token)
    assert len(raw) - 1 - 16 == 16  # key id, invitation id, then 16 bytes (128 bits) of MAC


def test_every_bit_of_the_mac_counts():
    signer = TokenSigner(ring_of(0, k0=KEY_A))
    token = signer.link_token(INVITATION, 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position in range(23, 44):  # the characters that carry the MAC
        changed = alphabet[(alphabet.index(token[position]) + 1) % 64]
        assert not signer.verify(token[:position] + changed + token[position + 1 :], INVITATION, 1)


def test_links_and_cursors_keep_working_across_a_rotation_until_their_key_is_dropped():
    first = ring_of(0, k0=KEY_A)
    before = TokenSigner(first)
    token = before.link_token(INVITATION, 3)
    cursor = before.sign_cursor("alice", {"before": "x"})

    second = rotate_ring(first, KEY_B, NOW, KEEP)
    after = TokenSigner(second)
    assert KeyRing.parse(second).current == 1 and KeyRing.parse(second).ids == {0, 1}
    assert after.verify(token, INVITATION, 3)  # signed with the previous key
    assert after.open_cursor("alice", cursor) == {"before": "x"}
    fresh = after.link_token(INVITATION, 3)
    assert after.key_id_of(fresh) == 1 and fresh != token and after.verify(fresh, INVITATION, 3)
    assert not before.verify(fresh, INVITATION, 3)  # a container still on the old ring: for 5 minutes at most

    third = rotate_ring(second, KEY_C, NOW + KEEP + timedelta(seconds=1), KEEP)  # key 0 retired too long ago
    dropped = TokenSigner(third)
    assert KeyRing.parse(third).ids == {1, 2}
    assert not dropped.verify(token, INVITATION, 3)
    assert dropped.open_cursor("alice", cursor) is None
    assert dropped.verify(fresh, INVITATION, 3)  # key 1 was retired just now: kept


def test_a_key_is_kept_exactly_as_long_as_asked():
    second = rotate_ring(ring_of(0, k0=KEY_A), KEY_B, NOW, KEEP)
    assert KeyRing.parse(rotate_ring(second, KEY_C, NOW + KEEP, KEEP)).ids == {0, 1, 2}
    document = json.loads(rotate_ring(second, KEY_C, NOW + KEEP, KEEP))
    assert document["current"] == 2 and document["k2"] == KEY_C
    assert document["retired"] == {"0": NOW.isoformat(), "1": (NOW + KEEP).isoformat()}


def test_key_ids_wrap_around_one_byte_and_never_reuse_a_key_still_held():
    ring = ring_of(255, k255=KEY_A, k0=KEY_B)
    rotated = json.loads(rotate_ring(ring, KEY_C, NOW, KEEP))
    assert rotated["current"] == 1  # 0 is still held
    assert rotated["k0"] == KEY_B and rotated["k255"] == KEY_A


def test_a_token_from_an_unknown_key_id_is_refused_after_the_same_work():
    token = TokenSigner(ring_of(9, k9=KEY_A)).link_token(INVITATION, 1)
    other = TokenSigner(ring_of(0, k0=KEY_A))  # same key material, another id
    assert not other.verify(token, INVITATION, 1)


def test_the_generated_first_ring_and_a_plain_secret_are_both_rings():
    created = json.dumps({"current": 0, "k0": "Zx" * 32})  # what CloudFormation's GenerateSecretString makes
    assert KeyRing.parse(created).current == 0
    assert KeyRing.parse(b"a-plain-secret").ids == {0}  # tests and bench
    assert ring_document("plain") == ({"current": 0, "k0": "plain"}, False)
    # a plain secret and the ring holding it as key 0 sign alike
    assert TokenSigner(KEY_A).link_token(INVITATION, 1) == TokenSigner(ring_of(0, k0=KEY_A)).link_token(INVITATION, 1)


@pytest.mark.parametrize(
    "bad",
    [
        ring_of(1, k0=KEY_A),  # the current key is missing
        ring_of(0, k0="short"),  # a key of fewer than 32 characters
        ring_of(256, k256=KEY_A),  # beyond one byte
        json.dumps({"k0": KEY_A}),  # no current key
        json.dumps({"current": True, "k1": KEY_A}),
    ],
)
def test_a_broken_ring_is_refused(bad):
    with pytest.raises(InvalidKeyRing):
        KeyRing.parse(bad)


def test_the_stable_secret_survives_every_rotation():
    first = ring_of(0, k0=KEY_A)
    second = rotate_ring(first, KEY_B, NOW, KEEP)
    third = rotate_ring(second, KEY_C, NOW + timedelta(days=60), KEEP)  # key 0 is gone
    assert 0 not in KeyRing.parse(third).ids
    assert stable_secret(first) == stable_secret(second) == stable_secret(third) == KEY_A.encode()
    assert stable_secret(b"plain-secret") == b"plain-secret"


def test_rotation_refuses_a_weak_new_key():
    with pytest.raises(InvalidKeyRing):
        rotate_ring(ring_of(0, k0=KEY_A), "short", NOW, KEEP)


class Ticking:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cached_ring_is_read_again_once_its_lifetime_is_over():
    clock, reads = Ticking(), []
    secrets = iter([ring_of(0, k0=KEY_A), rotate_ring(ring_of(0, k0=KEY_A), KEY_B, NOW, KEEP)])

    def fetch() -> str:
        reads.append(clock.now)
        return next(secrets)

    signer = TokenSigner(fetch, lifetime=RING_LIFETIME_SECONDS, clock=clock)
    assert reads == []  # nothing read before the first link
    assert signer.key_id_of(signer.link_token(INVITATION, 1)) == 0
    clock.now += RING_LIFETIME_SECONDS - 1
    assert signer.key_id_of(signer.link_token(INVITATION, 1)) == 0
    assert len(reads) == 1
    clock.now += 1
    assert signer.key_id_of(signer.link_token(INVITATION, 1)) == 1  # the rotation is seen
    assert len(reads) == 2
    assert RING_LIFETIME_SECONDS == 300


def test_a_failed_read_keeps_the_ring_held_and_tries_again_later():
    clock, answers = Ticking(), [ring_of(0, k0=KEY_A)]

    def fetch() -> str:
        if not answers:
            raise ConnectionError("Secrets Manager unreachable")
        return answers.pop()

    cached = Expiring(fetch, 300, clock)
    assert cached() == ring_of(0, k0=KEY_A)
    clock.now += 301
    assert cached() == ring_of(0, k0=KEY_A)  # stale, yet still a ring whose keys verify
    assert cached.cache_info().misses == 2
    cached.cache_clear()
    with pytest.raises(ConnectionError):
        cached()


def test_the_ring_is_parsed_once_per_read():
    signer = TokenSigner(ring_of(0, k0=KEY_A))
    signer.link_token(INVITATION, 1)
    first = signer.ring()
    assert signer.ring() is first


# -- the SMS --------------------------------------------------------------------------------------

BASE_30 = "https://rdv.cabinet-lyon.fr/ab"
assert len(BASE_30) == 30
NAME_30 = "Dr Marie-Hélène Château-Dupuis"
assert len(NAME_30) == 30


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_30_character_name_is_whole_in_one_segment_with_a_30_character_base_url(locale):
    link = f"{BASE_30}/i/{TokenSigner(KEY_A).link_token(uuid.uuid4().hex, 1)}"
    text = messages.invitation_sms(NAME_30, link, NOW + timedelta(days=14), locale)
    assert messages.is_single_gsm7_segment(text), (len(text), text)
    assert text.startswith(messages.to_gsm7(NAME_30) + " ")
    assert text.endswith(link)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_short_name_keeps_the_date_too(locale):
    link = f"{BASE_30}/i/{TokenSigner(KEY_A).link_token(uuid.uuid4().hex, 1)}"
    text = messages.invitation_sms("Dr Roy", link, datetime(2026, 1, 19, tzinfo=UTC), locale)
    assert ("19/01" if locale == "fr" else "Jan 19") in text
    assert messages.is_single_gsm7_segment(text)


# -- the rotation function against moto's Secrets Manager ---------------------------------------

SECRET = "rotation-link-secret"


@pytest.fixture
def secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    env = {
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": "t",
        "EVENT_BUS_NAME": "b",
        "PUBLIC_BASE_URL": BASE_30,
        "LINK_SECRET_ID": SECRET,
        "VALIDITY_DAYS": "14",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    with mock_aws():
        client = boto3.client("secretsmanager")
        client.create_secret(Name=SECRET, SecretString=ring_of(0, k0="G" * 64))
        yield client
    runtime.reset()


def rotate(client: Any, token: str) -> None:
    handler = handler_of("rotate_link_keys")
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        handler({"Step": step, "SecretId": SECRET, "ClientRequestToken": token}, FakeContext())


def current_ring(client: Any) -> dict[str, Any]:
    return json.loads(client.get_secret_value(SecretId=SECRET, VersionStage="AWSCURRENT")["SecretString"])


def test_the_rotation_steps_make_a_new_current_key_and_keep_the_previous_one(secretsmanager):
    signer = TokenSigner(runtime.link_secret)
    token = signer.link_token(INVITATION, 1)
    rotate(secretsmanager, str(uuid.uuid4()))

    ring = current_ring(secretsmanager)
    assert ring["current"] == 1 and ring["k0"] == "G" * 64 and len(ring["k1"]) >= 64
    assert set(ring["retired"]) == {"0"}
    runtime.link_secret.cache_clear()  # as 5 minutes later
    assert signer.verify(token, INVITATION, 1)
    assert signer.key_id_of(signer.link_token(INVITATION, 1)) == 1


def test_each_step_may_run_again(secretsmanager):
    token = str(uuid.uuid4())
    handler = handler_of("rotate_link_keys")
    create = {"Step": "createSecret", "SecretId": SECRET, "ClientRequestToken": token}
    handler(create, FakeContext())
    pending = secretsmanager.get_secret_value(SecretId=SECRET, VersionStage="AWSPENDING")["SecretString"]
    handler(create, FakeContext())  # a retry keeps the pending ring
    assert secretsmanager.get_secret_value(SecretId=SECRET, VersionStage="AWSPENDING")["SecretString"] == pending
    rotate(secretsmanager, token)
    rotate(secretsmanager, token)  # after the finish: nothing changes
    assert current_ring(secretsmanager)["current"] == 1


def test_a_key_is_dropped_by_the_first_rotation_after_its_links_expired(secretsmanager, monkeypatch):
    monkeypatch.setattr(app, "_now", lambda: NOW)
    rotate(secretsmanager, str(uuid.uuid4()))
    monkeypatch.setattr(app, "_now", lambda: NOW + timedelta(days=14) + app.MARGIN)
    rotate(secretsmanager, str(uuid.uuid4()))
    assert KeyRing.parse(json.dumps(current_ring(secretsmanager))).ids == {0, 1, 2}  # not yet
    monkeypatch.setattr(app, "_now", lambda: NOW + timedelta(days=31))  # key 1: retired 16 days ago
    rotate(secretsmanager, str(uuid.uuid4()))
    ring = current_ring(secretsmanager)
    assert ring["current"] == 3 and KeyRing.parse(json.dumps(ring)).ids == {2, 3}


def test_test_secret_refuses_a_pending_ring_that_drops_the_current_key(secretsmanager):
    token = str(uuid.uuid4())
    secretsmanager.put_secret_value(
        SecretId=SECRET, ClientRequestToken=token, SecretString=ring_of(5, k5="H" * 64), VersionStages=["AWSPENDING"]
    )
    with pytest.raises(InvalidKeyRing):
        handler_of("rotate_link_keys")(
            {"Step": "testSecret", "SecretId": SECRET, "ClientRequestToken": token}, FakeContext()
        )
    assert current_ring(secretsmanager)["current"] == 0


def test_a_step_for_a_version_that_was_never_created_fails(secretsmanager):
    with pytest.raises(ValueError, match="no stage"):
        handler_of("rotate_link_keys")(
            {"Step": "finishSecret", "SecretId": SECRET, "ClientRequestToken": str(uuid.uuid4())}, FakeContext()
        )


def test_the_sample_event_is_a_rotation_step():
    from local.template import ROOT

    event = json.loads((ROOT / "events" / "rotate_link_keys.json").read_text())
    assert event["Step"] in ("createSecret", "setSecret", "testSecret", "finishSecret")
    assert event["SecretId"].startswith("arn:aws:secretsmanager:") and uuid.UUID(event["ClientRequestToken"])
