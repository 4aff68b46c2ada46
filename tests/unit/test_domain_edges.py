"""The invitation's transitions at their edges, on values as an adapter reads them back (fresh
strings and ints, equal to the literals but never the same objects): link versions past the
first, a suppressed address, and the provider's delivery reports."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from invitations.domain import events, outbox, rules
from invitations.domain import invitation as invitations
from invitations.domain.errors import AddressUndeliverable, TooManySends
from invitations.domain.events import Message
from invitations.domain.invitation import Contact, DeliveryOutcome
from tests.fakes import as_read

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RULES = rules.Rules()


def invite(email: str | None = "p@example.org", phone: str | None = None, **fields) -> invitations.Invitation:
    inv = invitations.create(Contact("Jeanne", "Rivière", email, phone), "clin-1", "Dr A", NOW, RULES)
    return replace(inv, **fields)


def test_a_correction_and_a_resend_count_from_the_current_link():
    inv = invite(link_version=3, send_count=3)
    assert invitations.correct(inv, {"email": "new@example.org"}, NOW).link_version == 4
    again = invitations.resend(inv, NOW + timedelta(days=1), RULES)
    assert (again.link_version, again.send_count) == (4, 4)


def test_an_outcome_is_recorded_for_a_link_version_as_read():
    inv = invite(link_version=as_read(1000))
    outcome = DeliveryOutcome("sent", NOW)
    assert invitations.record_delivery(inv, as_read(1000), outcome).delivery == outcome
    assert invitations.record_delivery(inv, as_read(999), outcome) is None


def test_only_a_new_address_lifts_its_suppression():
    suppressed = invite(email="p@example.org", phone="+33612345678", email_suppressed=True)
    assert suppressed.channel == "sms"
    assert invitations.correct(suppressed, {"last_name": "R"}, NOW).email_suppressed
    same = invitations.correct(suppressed, {"email": as_read("p@example.org")}, NOW)
    assert same.email_suppressed and same.link_version == suppressed.link_version
    moved = invitations.correct(suppressed, {"email": "q@example.org"}, NOW)
    assert not moved.email_suppressed and moved.channel == "email"


def test_a_suppressed_address_is_resent_by_sms_or_not_at_all():
    later = NOW + timedelta(days=1)
    with pytest.raises(AddressUndeliverable):
        invitations.resend(invite(email_suppressed=True), later, RULES)
    by_sms = invitations.resend(invite(phone="+33612345678", email_suppressed=True), later, RULES)
    assert by_sms.channel == "sms" and by_sms.link_version == 2
    assert invitations.resend(invite(), later, RULES).channel == "email"


@pytest.mark.parametrize("status", ["delivered", "bounced", "complained", "failed"])
def test_a_delivery_report_is_an_event(status):
    inv = invite(phone="+33612345678", link_version=2)
    event = events.delivery_reported(inv, as_read(status), "email", 2, NOW, fallback=False)
    expected = "InvitationDelivered" if status == "delivered" else "InvitationDeliveryFailed"
    assert (event.type, event.message, event.link_version, event.actor.kind) == (expected, None, 2, "system")
    assert event.facts == {
        "clinician_id": "clin-1",
        "delivery_status": status,
        "channel": "email",
        "fallback_sms": False,
    }


def test_a_failed_email_may_fall_back_to_sms_with_the_same_link():
    inv = invite(phone="+33612345678", link_version=2)
    event = events.delivery_reported(inv, "bounced", "email", 2, NOW, fallback=True)
    assert event.message == Message("fallback_sms", "sms", 2) and event.facts["fallback_sms"] is True
    assert outbox.stale_reason(event.message, inv, NOW) is None
    assert outbox.stale_reason(event.message, replace(inv, phone=None), NOW) == "no phone number"
    assert outbox.stale_reason(Message("fallback_sms", "sms", 1), inv, NOW) == "link replaced"


def entry(attempts: int, created_at: datetime = NOW) -> outbox.OutboxEntry:
    message = Message("invitation", "email", 1)
    return outbox.OutboxEntry("i", "e", "InvitationSent", {}, created_at, message, attempts=attempts)


def test_a_message_is_failed_after_five_attempts_over_thirty_minutes():
    late = NOW + timedelta(minutes=31)
    assert [outbox.attempts_exhausted(entry(n), late) for n in range(7)] == [False] * 4 + [True] * 3
    assert not outbox.attempts_exhausted(entry(6), NOW + timedelta(minutes=30, microseconds=-1))
    assert outbox.attempts_exhausted(entry(4), NOW + timedelta(minutes=30))
    assert outbox.attempts_exhausted(entry(4), NOW + timedelta(days=1))


def test_a_message_read_back_from_the_outbox_is_judged_on_its_values():
    by_sms = invite(email=None, phone="+33612345678", link_version=as_read(1000))
    invitation_kind, fallback_kind = as_read("invitation"), as_read("fallback_sms")
    assert outbox.stale_reason(Message(invitation_kind, as_read("sms"), as_read(1000)), by_sms, NOW) is None
    assert outbox.stale_reason(Message(invitation_kind, "email", 1000), by_sms, NOW) == "channel changed"
    assert outbox.stale_reason(Message(fallback_kind, "sms", 1000), by_sms, NOW) is None
    no_phone = invite(link_version=1000)
    assert outbox.stale_reason(Message(fallback_kind, "sms", as_read(1000)), no_phone, NOW) == "no phone number"
    assert outbox.stale_reason(Message(invitation_kind, "email", as_read(1000)), no_phone, NOW) is None


def test_a_quota_buckets_by_the_clock_and_waits_exactly():
    from invitations.domain import quotas

    limit = quotas.Limit(2, timedelta(minutes=1), "no")
    nine = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    first = quotas.count(quotas.Quota("k"), limit, nine + timedelta(seconds=30))
    assert first.buckets == ((nine, 1),)  # the minute it falls in, from the hour
    second = quotas.count(first, limit, nine + timedelta(seconds=59, microseconds=999999))
    assert second.buckets == ((nine, 2),)
    third = quotas.count(second, limit, nine + timedelta(minutes=1))
    assert third.buckets == ((nine, 2), (nine + timedelta(minutes=1), 1))
    hourly = quotas.count(quotas.Quota("k"), quotas.Limit(9, timedelta(hours=1), "no"), nine + timedelta(minutes=59))
    assert hourly.buckets == ((nine, 1),)
    with pytest.raises(TooManySends) as refused:  # two in the 9:00 bucket: it leaves the window at 9:01 next day
        quotas.take(second, limit, nine + timedelta(hours=3, seconds=29, milliseconds=500))
    assert refused.value.retry_after_seconds == 21 * 3600 + 30 + 1  # 21 h 30.5 s left
    assert refused.value.message == "no"
    edge = nine + timedelta(days=1, minutes=1)  # the 9:00 bucket ends exactly as the window starts
    assert quotas.take(second, limit, edge).buckets == ((edge, 1),)
    with pytest.raises(TooManySends):
        quotas.take(second, limit, edge - timedelta(microseconds=1))
    assert quotas.take(first, limit, nine + timedelta(seconds=40)).buckets == ((nine, 2),)


def test_a_reminder_is_due_once_for_a_pending_link_only():
    inv = invite(send_count=3)
    assert inv.remind_at is not None
    due = inv.remind_at
    assert invitations.reminder_due(replace(inv, stored_status=as_read("pending")), NOW) == due
    for status in ("accepted", "expired", "deleted"):
        assert invitations.reminder_due(replace(inv, stored_status=as_read(status)), NOW) is None
    assert invitations.remind(inv, due - timedelta(microseconds=1), RULES) is None  # not yet
    reminded = invitations.remind(inv, due, RULES)
    assert reminded is not None and reminded.send_count == 4 and reminded.reminded_link == inv.link_version
    assert invitations.reminder_due(reminded, due) is None  # once per link


def test_a_reminded_link_read_back_is_not_reminded_again():
    inv = invite(link_version=as_read(1000), reminded_link=as_read(1000))
    assert inv.remind_at is not None and invitations.reminder_due(inv, NOW) is None
