"""The send limits across invitations (docs/api.md, "Protection") on the fakes: per clinician and
recipient, per clinician per day, per phone number across clinicians, and the SMS countries."""

from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta

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


# -- the quota's arithmetic, exactly --------------------------------------------------------------

AT = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)  # 30 s into a minute, into an hour


def test_a_quota_and_a_limit_are_values():
    quota, limit = quotas.Quota("k"), quotas.per_recipient()
    assert quota.buckets == () and quota.rev == 0  # never stored
    with pytest.raises(FrozenInstanceError):
        quota.rev = 1  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        limit.count = 4  # type: ignore[misc]


def test_the_wait_is_told_to_the_second_from_the_oldest_bucket():
    """Refused at 10:00:31, the 09:00 minute bucket leaves the window at 09:01:00 the next day:
    23 h 0 min 29 s later, told as 82,830 s (one more: never too early)."""
    limit = quotas.per_recipient()
    quota = quotas.Quota("k", ((AT.replace(second=0), 2), (AT.replace(second=0) + timedelta(minutes=10), 1)))
    with pytest.raises(TooManySends) as refused:
        quotas.take(quota, limit, AT + timedelta(hours=1, seconds=1))
    assert refused.value.retry_after_seconds == 23 * 3600 + 29 + 1
    with pytest.raises(TooManySends) as almost:  # the last second before the bucket leaves
        quotas.take(quota, limit, AT.replace(second=0) + timedelta(days=1, seconds=59, microseconds=500_000))
    assert almost.value.retry_after_seconds == 1


def test_a_phone_is_counted_by_the_minute_and_a_clinician_by_the_hour():
    phone = quotas.Quota("p", ((AT.replace(second=0), 10),))
    with pytest.raises(TooManySends) as refused:
        quotas.take(phone, quotas.per_phone(), AT + timedelta(hours=1, seconds=1))
    assert refused.value.retry_after_seconds == 23 * 3600 + 29 + 1  # the minute's end, the next day
    clinician = quotas.Quota("c", ((AT.replace(minute=0, second=0), 200),))
    with pytest.raises(TooManySends) as refused:
        quotas.take(clinician, quotas.per_clinician(Rules()), AT + timedelta(hours=1, seconds=1))
    assert refused.value.retry_after_seconds == 24 * 3600 - 31 + 1  # 10:00 the next day: the hour's end


def test_over_the_limit_is_refused_too():
    """Reminders and fallbacks are counted without a check, so a quota may stand above its limit."""
    quota = quotas.Quota("k", ((AT.replace(second=0), 4),))
    with pytest.raises(TooManySends):
        quotas.take(quota, quotas.per_recipient(), AT + timedelta(minutes=5))


def test_sends_older_than_the_window_are_forgotten_whatever_their_bucket():
    old = quotas.Quota("k", ((AT - timedelta(days=2), 3), (AT - timedelta(days=1, minutes=2), 3)))
    taken = quotas.take(old, quotas.per_recipient(), AT)
    assert taken.buckets == ((AT.replace(second=0), 1),)


def test_a_send_goes_into_the_latest_bucket_when_it_is_the_current_one():
    minute = AT.replace(second=0)
    quota = quotas.Quota("k", ((minute - timedelta(minutes=3), 1), (minute, 4)))
    assert quotas.count(quota, quotas.per_recipient(), AT).buckets == ((minute - timedelta(minutes=3), 1), (minute, 5))
    later = quotas.count(quota, quotas.per_recipient(), AT + timedelta(minutes=1))
    assert later.buckets == ((minute - timedelta(minutes=3), 1), (minute, 4), (minute + timedelta(minutes=1), 1))
    two = quotas.Quota("k", ((minute - timedelta(minutes=3), 1), (minute, 1)))
    assert quotas.take(two, quotas.per_recipient(), AT).buckets == ((minute - timedelta(minutes=3), 1), (minute, 2))
