"""The send limits across invitations (docs/api.md, "Protection") on the fakes: per clinician and
recipient, per clinician per day, per phone number across clinicians, and the SMS countries."""

from dataclasses import replace
from datetime import timedelta

import pytest

from invitations.domain import quotas, rules
from invitations.domain.errors import Invalid, TooManySends
from invitations.domain.invitation import Contact
from invitations.domain.rules import Rules
from invitations.use_cases import managing, sending
from invitations.use_cases.base import Clinician
from tests.fakes import World, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")


@pytest.fixture
def w() -> World:
    return world()


def send(w: World, email: str | None = None, phone: str | None = None, clinician: Clinician = ALICE):
    return sending.send(w.services, clinician, Contact("Jeanne", "Rivière", email, phone))


def test_the_numbers_of_the_contract():
    assert rules.NEW_INVITATIONS_PER_RECIPIENT == quotas.per_recipient().count == 3
    assert rules.NEW_INVITATIONS_PER_PHONE == quotas.per_phone().count == 10
    assert rules.MAX_SENDS_PER_DAY == quotas.per_clinician(Rules()).count == 200
    assert rules.SMS_COUNTRIES == ("FR", "GP", "MQ", "GF", "RE", "YT")


def test_three_new_invitations_per_recipient_a_label_or_a_case_is_the_same_recipient(w):
    send(w, "jeanne@example.org")
    send(w, "Jeanne+cabinet@Example.org")
    send(w, "JEANNE+x@example.ORG")
    with pytest.raises(TooManySends) as refused:
        send(w, "jeanne+autre@example.org")
    assert "recipient" in refused.value.message
    assert refused.value.retry_after_seconds == 24 * 3600 + 60 + 1  # the first minute's sends leave the window
    send(w, "paul@example.org")  # another recipient
    send(w, "jeanne@example.org", clinician=Clinician("clin-bob", "Dr Bob"))  # another clinician


def test_the_limit_slides_with_the_window(w):
    for _ in range(3):
        send(w, "jeanne@example.org")
    w.clock.advance(hours=24, minutes=1)
    send(w, "jeanne@example.org")


def test_a_phone_and_an_address_each_count(w):
    for n in range(3):
        send(w, f"j{n}@example.org", "+33612345678")
    with pytest.raises(TooManySends):
        send(w, "autre@example.org", "+33612345678")


def test_one_phone_gets_at_most_ten_new_invitations_from_all_clinicians(w):
    for n in range(10):
        send(w, phone="+33612345678", clinician=Clinician(f"clin-{n}", f"Dr {n}"))
    with pytest.raises(TooManySends) as refused:
        send(w, phone="+33612345678", clinician=Clinician("clin-x", "Dr X"))
    assert "phone number" in refused.value.message


def test_a_clinician_sends_at_most_max_sends_per_day_resends_included():
    w = world(rules=replace(Rules(), max_sends_per_day=4))
    first = send(w, "a@example.org")
    send(w, "b@example.org")
    sending.resend(w.services, ALICE, first.id)
    send(w, "c@example.org")
    with pytest.raises(TooManySends) as refused:
        sending.resend(w.services, ALICE, first.id)
    assert "account" in refused.value.message
    with pytest.raises(TooManySends):
        send(w, "d@example.org")
    w.clock.advance(hours=25)
    send(w, "d@example.org")


def test_a_refused_send_stores_nothing(w):
    for _ in range(3):
        send(w, "jeanne@example.org")
    before = (dict(w.store.invitations), dict(w.store.quotas), len(w.store.outbox))
    with pytest.raises(TooManySends):
        send(w, "jeanne@example.org")
    assert (dict(w.store.invitations), dict(w.store.quotas), len(w.store.outbox)) == before


def test_quotas_are_keyed_by_pseudonyms_never_by_the_address_or_number(w):
    send(w, "jeanne@example.org", "+33612345678")
    keys = " ".join(w.store.quotas)
    assert "jeanne" not in keys and "33612345678" not in keys
    assert sorted(k.split("#")[0] for k in w.store.quotas) == ["clinician", "phone", "recipient", "recipient"]


def test_sms_only_to_the_allowed_countries(w):
    send(w, phone="+590690001122")  # Guadeloupe
    for foreign in ("+12025550123", "+447700900123", "+32470123456"):
        with pytest.raises(Invalid) as refused:
            send(w, phone=foreign)
        assert "phone" in (refused.value.fields or {})
    inv = send(w, "x@example.org")
    with pytest.raises(Invalid):
        managing.correct(w.services, ALICE, inv.id, {"phone": "+12025550123"})
    belgian = world(rules=replace(Rules(), sms_countries=("BE",)))
    send(belgian, phone="+32470123456")


def test_a_quota_counts_by_bucket_and_forgets_what_left_the_window(w):
    limit = quotas.Limit(2, timedelta(minutes=1), "no")
    now = w.clock.now()
    taken = quotas.take(quotas.take(quotas.Quota("k"), limit, now), limit, now + timedelta(seconds=30))
    assert taken.buckets == ((now, 2),)
    with pytest.raises(TooManySends):
        quotas.take(taken, limit, now + timedelta(hours=24))  # the bucket still overlaps the window
    later = quotas.take(taken, limit, now + timedelta(hours=24, minutes=1))
    assert later.buckets == ((now + timedelta(hours=24, minutes=1), 1),)
    assert quotas.count(taken, limit, now).buckets == ((now, 3),)  # counted, never refused
