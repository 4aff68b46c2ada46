"""The reminder on the fakes: once per link, ReminderDaysBefore days before expiry, in the
patient's day hours, never for an accepted, expired or deleted invitation; a resend starts a new
link and so a new reminder."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from invitations import messages
from invitations.domain import rules
from invitations.domain.errors import TooManySends
from invitations.domain.invitation import Contact
from invitations.domain.rules import Rules
from invitations.use_cases import managing, patient_link, reminders, sending
from invitations.use_cases.base import Clinician
from tests.fakes import World, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")
JEANNE = Contact("Jeanne", "Rivière", "jeanne@example.org", None)
PAUL = Contact("Paul", "Durand", "paul@example.org", None)


@pytest.fixture
def w() -> World:
    return world()  # the clock starts on 2026-01-05 09:00 UTC (10:00 in Paris)


def run(w: World) -> int:
    count = reminders.send_due(w.services, lambda: True)
    w.run_outbox()
    return count


def test_the_numbers():
    assert rules.REMINDER_DAYS_BEFORE == Rules().reminder_days_before == 3
    assert rules.REMINDER_HOURS == (9, 20)


def test_one_reminder_three_days_before_expiry_with_the_same_link(w):
    inv = sending.send(w.services, ALICE, JEANNE)
    w.run_outbox()
    assert inv.remind_at == datetime(2026, 1, 16, 9, 0, tzinfo=UTC)  # 11 days later, 10:00 in Paris
    w.clock.advance(days=10, hours=23)
    assert run(w) == 0
    w.clock.advance(hours=1)
    assert run(w) == 1
    assert run(w) == 0  # twice: still once
    reminder = w.messenger.emails[-1]
    assert reminder["subject"].startswith("Rappel") and w.services.links.url(inv.id, 1) in reminder["text"]
    stored = w.store.invitations[inv.id]
    assert stored.send_count == 2 and stored.reminded_link == 1 and stored.link_version == 1
    assert [h.type for h in w.store.history] == ["sent", "dispatched", "reminded", "dispatched"]
    assert "InvitationReminded" in w.publisher.types()


def test_only_between_nine_and_eight_in_the_patients_zone():
    w = world()
    w.clock.current = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)  # 00:30 in Paris
    inv = sending.send(w.services, ALICE, JEANNE)
    # Due 3 days before expiry (Jan 17, 00:30 in Paris), moved to 09:00 in Paris that day.
    assert inv.remind_at == datetime(2026, 1, 17, 8, 0, tzinfo=UTC)
    w.clock.current = datetime(2026, 1, 17, 7, 59, tzinfo=UTC)
    assert run(w) == 0
    w.clock.current = datetime(2026, 1, 17, 19, 30, tzinfo=UTC)  # 20:30 in Paris: too late today
    assert run(w) == 0
    w.clock.current = datetime(2026, 1, 18, 8, 0, tzinfo=UTC)
    assert run(w) == 1


def test_a_late_evening_expiry_is_reminded_before_eight_pm():
    w = world()
    w.clock.current = datetime(2026, 1, 5, 21, 0, tzinfo=UTC)  # 22:00 in Paris
    inv = sending.send(w.services, ALICE, JEANNE)
    assert inv.remind_at == datetime(2026, 1, 16, 18, 0, tzinfo=UTC)  # 19:00 in Paris, the same day


def test_never_for_accepted_deleted_or_expired(w):
    accepted = sending.send(w.services, ALICE, JEANNE)
    deleted = sending.send(w.services, ALICE, replace(JEANNE, email="d@example.org"))
    w.run_outbox()
    patient_link.accept(w.services, w.services.links.url(accepted.id, 1).rsplit("/", 1)[1])
    managing.delete(w.services, ALICE, deleted.id)
    w.clock.advance(days=11, hours=1)
    assert run(w) == 0
    late = world()
    sending.send(late.services, ALICE, JEANNE)
    late.clock.advance(days=15)
    assert run(late) == 0


def test_a_resend_starts_a_new_link_and_a_new_reminder(w):
    inv = sending.send(w.services, ALICE, JEANNE)
    w.clock.advance(days=11, hours=1)
    assert run(w) == 1
    w.clock.advance(days=1)
    resent = sending.resend(w.services, ALICE, inv.id)
    assert resent.remind_at is not None and resent.reminded_link == 1
    w.clock.advance(days=11)
    assert run(w) == 1
    assert w.store.invitations[inv.id].reminded_link == 2


def test_reminders_can_be_turned_off():
    off = world(rules=replace(Rules(), reminder_days_before=0))
    inv = sending.send(off.services, ALICE, JEANNE)
    assert inv.remind_at is None
    off.clock.advance(days=11, hours=1)
    assert run(off) == 0


def test_the_reminder_sms_is_one_segment_with_the_link():
    link = "https://invite.example-sante.fr/i/" + "A" * 44
    expires = datetime(2026, 1, 19, 9, tzinfo=UTC)
    for locale in ("fr", "en"):
        text = messages.reminder_sms("Dr Jean-Baptiste de La Fontaine", link, expires, locale)
        assert messages.is_single_gsm7_segment(text) and link in text


def test_a_reminder_counts_in_the_clinicians_day_but_is_never_refused():
    w = world(rules=replace(Rules(), max_sends_per_day=1))
    sending.send(w.services, ALICE, JEANNE)
    w.clock.advance(days=11, hours=1)
    w.clock.current = w.clock.current.replace(hour=9)
    assert run(w) == 1
    # ... and then counts: the clinician's day is full, a new invitation is refused.
    with pytest.raises(TooManySends):
        sending.send(w.services, ALICE, PAUL)


def test_a_reminder_adds_to_the_sends_of_the_clinicians_day():
    w = world(rules=replace(Rules(), max_sends_per_day=2))
    sending.send(w.services, ALICE, JEANNE)
    w.clock.advance(days=11, hours=1)
    w.clock.current = w.clock.current.replace(hour=9)
    sending.send(w.services, ALICE, PAUL)  # 1 today
    assert run(w) == 1  # Jeanne's reminder: 2 today
    with pytest.raises(TooManySends):
        sending.send(w.services, ALICE, replace(PAUL, email="paul.2@example.org"))


def test_a_run_out_of_time_stops_reading_the_due_reminders(w):
    for n in range(3):
        sending.send(w.services, ALICE, replace(JEANNE, email=f"jeanne.{n}@example.org"))
    w.clock.advance(days=11, hours=1)
    w.clock.current = w.clock.current.replace(hour=9)
    read = []
    due = w.services.queries.reminders_due
    w.services.queries.reminders_due = lambda now: (read.append(inv) or inv for inv in due(now))  # type: ignore[method-assign]
    assert reminders.send_due(w.services, lambda: False) == 0
    assert len(read) == 1  # the first one, then the run stops: the rest is the next run's
