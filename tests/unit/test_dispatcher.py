"""The outbox and its dispatcher at their edges: which message is stale and why, the retry
budget as a number, what a stale, transient or permanent outcome writes, a dispatcher racing
another, the sweeper's window, time budget and poison entries, and the history of each event."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from invitations.domain import events, history, outbox
from invitations.domain.events import Message
from invitations.domain.invitation import Contact, DeliveryOutcome
from invitations.domain.outbox import OutboxEntry
from invitations.use_cases import dispatch, managing, patient_link, patients, sending
from invitations.use_cases.base import Clinician
from tests.fakes import World, as_read, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")
HELENE = Contact("Hélène", "Dupont", "helene@example.org", None)
MARC = Contact("Marc", "Petit", None, "+33612345678")


@pytest.fixture
def w() -> World:
    return world()


def token(w: World, inv) -> str:
    return w.services.links.url(inv.id, inv.link_version).rsplit("/i/", 1)[1]


def entry_of(w: World, event_type: str = "InvitationSent") -> OutboxEntry:
    [entry] = [e for e in w.store.outbox.values() if e.event_type == event_type]
    return entry


# -- the outbox rules --------------------------------------------------------------------------


def test_the_outbox_numbers():
    assert outbox.MAX_DELIVERY_ATTEMPTS == 5
    assert timedelta(days=1) == outbox.DONE_KEPT_FOR
    assert timedelta(minutes=3) == outbox.SWEEP_AFTER


def test_why_a_message_is_stale(w):
    inv = sending.send(w.services, ALICE, HELENE)
    message, now = Message("invitation", "email", 1), w.clock.now()
    assert outbox.stale_reason(message, inv, now) is None
    assert outbox.stale_reason(message, None, now) == "invitation deleted"
    for status, reason in (("deleted", "invitation deleted"), ("accepted", "invitation accepted")):
        assert outbox.stale_reason(message, replace(inv, stored_status=as_read(status)), now) == reason
    assert outbox.stale_reason(message, replace(inv, stored_status=as_read("expired")), now) == "invitation expired"
    assert outbox.stale_reason(message, replace(inv, stored_status=as_read("pending")), now) is None
    assert outbox.stale_reason(message, inv, inv.expires_at) == "invitation expired"
    assert outbox.stale_reason(message, inv, inv.expires_at - timedelta(microseconds=1)) is None
    for other in (Message("invitation", "email", 2), Message("invitation", "email", 0)):
        assert outbox.stale_reason(other, inv, now) == "link replaced"
    assert outbox.stale_reason(Message("invitation", "sms", 1), inv, now) == "channel changed"
    by_sms = replace(inv, email=None, phone="+33612345678")
    assert outbox.stale_reason(Message("invitation", "sms", 1), by_sms, now) is None
    assert outbox.stale_reason(Message("invitation", as_read("sms"), 1), by_sms, now) is None


def test_an_entry_and_its_attempts():
    created = OutboxEntry("i", "e", "InvitationSent", {}, None, Message("invitation", "email", 1))  # type: ignore[arg-type]
    assert (created.attempts, created.message_handled, created.done, created.rev) == (0, False, False, 0)
    assert created.needs_delivery and not outbox.handled(created).needs_delivery
    assert not replace(created, message=None).needs_delivery
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    created = replace(created, created_at=start)
    late = start + outbox.GIVE_UP_AFTER
    assert [outbox.attempts_exhausted(replace(created, attempts=n), late) for n in range(6)] == [False] * 4 + [True] * 2
    early = late - timedelta(seconds=1)  # a burst: as many attempts, too soon to give up
    assert not outbox.attempts_exhausted(replace(created, attempts=9), early)
    assert timedelta(minutes=30) == outbox.GIVE_UP_AFTER
    assert outbox.failed_attempt(outbox.failed_attempt(created)).attempts == 2


def test_the_history_names_each_event(w):
    inv = sending.send(w.services, ALICE, HELENE)
    now = w.clock.now()
    resent = replace(inv, send_count=2)
    corrected = events.invitation_corrected(inv, ["phone", "email"], ALICE.actor, now)
    assert history.of_event(events.invitation_sent(inv, ALICE.actor, now)).type == "sent"
    assert history.of_event(events.invitation_sent(resent, ALICE.actor, now)).type == "resent"
    entry = history.of_event(corrected)
    assert (entry.type, entry.detail, entry.channel, entry.actor) == ("corrected", "email, phone", "email", ALICE.actor)
    assert (entry.invitation_id, entry.at, entry.entry_id) == (inv.id, now, corrected.event_id)
    assert history.of_event(events.invitation_corrected(inv, [], ALICE.actor, now)).detail is None
    assert history.of_event(events.invitation_deleted(inv, ALICE.actor, now)).type == "deleted"
    assert history.of_event(events.invitation_expired(inv, now)).type == "expired"
    other = replace(events.invitation_expired(inv, now), type="SomethingNew")
    assert history.of_event(other).type == "SomethingNew"  # an unknown event keeps its name
    note = history.delivery_outcome(inv.id, "failed", now, "sms", "e1", "refused")
    assert (note.actor.kind, note.channel, note.detail, note.entry_id) == ("system", "sms", "refused", "e1")


def test_accept_and_leave_are_in_the_history(w):
    inv = sending.send(w.services, ALICE, MARC)
    patient_id = patient_link.accept(w.services, token(w, inv)).patient_id
    patients.leave_thread(w.services, ALICE, patient_id)
    assert [(h.type, h.actor.kind) for h in w.store.history] == [
        ("sent", "clinician"),
        ("accepted", "patient"),
        ("thread_left", "clinician"),
    ]
    assert w.store.history[0].channel == "sms"


# -- delivery ----------------------------------------------------------------------------------


def test_the_fifth_refusal_is_the_last(w):
    w.messenger.fail_with = "email not sent: Throttling"
    inv = sending.send(w.services, ALICE, HELENE)
    for attempt in range(1, 5):
        assert w.run_outbox() == 1
        assert entry_of(w).attempts == attempt and not entry_of(w).message_handled
        assert w.store.invitations[inv.id].delivery.status == "queued"
    w.clock.advance(minutes=29, seconds=59)
    assert w.run_outbox() == 1  # five attempts, but within half an hour: a burst, not a failure
    w.clock.advance(seconds=1)
    assert w.run_outbox() == 0
    assert entry_of(w).message_handled and entry_of(w).attempts == 5
    stored = w.store.invitations[inv.id]
    assert stored.delivery == DeliveryOutcome("failed", w.clock.now(), "email not sent: Throttling", "email")
    assert w.counter.counts["DeliveryFailures"] == 1
    assert [h.type for h in w.store.history] == ["sent", "failed"]
    assert w.store.history[1].detail == "email not sent: Throttling"
    assert w.publisher.types() == ["InvitationSent"]


def test_a_transient_refusal_then_success_records_sent(w):
    w.messenger.fail_next = 1
    inv = sending.send(w.services, ALICE, MARC)
    with pytest.raises(dispatch.RetryLater):
        dispatch.dispatch(w.services, inv.id, entry_of(w).event_id)
    assert entry_of(w).attempts == 1 and not w.publisher.published and "DeliveryFailures" not in w.counter.counts
    w.clock.advance(seconds=30)
    dispatch.dispatch(w.services, inv.id, entry_of(w).event_id)
    assert w.store.invitations[inv.id].delivery == DeliveryOutcome("sent", w.clock.now(), None, "sms", "msg-0001")
    assert len(w.messenger.sms) == 1 and entry_of(w).done_at == w.clock.now()
    note = w.store.history[-1]
    assert (note.type, note.channel, note.at, note.detail) == ("dispatched", "sms", w.clock.now(), None)


def test_an_address_wins_over_a_phone(w):
    sending.send(w.services, ALICE, Contact("Anne", "Alpha", "anne@example.org", "+33612345678"))
    w.run_outbox()
    assert len(w.messenger.emails) == 1 and not w.messenger.sms


@pytest.mark.parametrize("status", ["accepted", "expired"])
def test_a_stale_message_leaves_the_invitation_as_it_is(w, status):
    inv = sending.send(w.services, ALICE, HELENE)
    if status == "accepted":
        patient_link.accept(w.services, token(w, inv))
    else:
        w.clock.advance(days=14)
    before = w.store.invitations[inv.id]
    w.run_outbox()
    assert w.store.invitations[inv.id] == before and not w.messenger.emails
    [note] = [h for h in w.store.history if h.type == "not_sent"]
    assert note.detail == f"invitation {status}" and note.channel == "email" and note.actor.kind == "system"
    assert entry_of(w).message_handled and entry_of(w).done


def test_a_deleted_invitations_message_is_not_sent(w):
    inv = sending.send(w.services, ALICE, HELENE)
    managing.delete(w.services, ALICE, inv.id)
    w.store.invitations[inv.id] = replace(w.store.invitations[inv.id], stored_status=as_read("deleted"))
    w.run_outbox()
    assert not w.messenger.emails and w.store.invitations[inv.id].delivery.status == "queued"
    assert [h.detail for h in w.store.history if h.type == "not_sent"] == ["invitation deleted"]


def test_an_entry_whose_invitation_is_gone_is_not_sent(w):
    inv = sending.send(w.services, ALICE, HELENE)
    del w.store.invitations[inv.id]  # removed by TTL long after
    assert w.run_outbox() == 0
    assert not w.messenger.emails and [h.type for h in w.store.history] == ["sent", "not_sent"]


def test_a_second_dispatcher_racing_the_first_sends_nothing_more(w):
    """A repeated stream record dispatched while the first is with the provider: the outcome is
    recorded once, the entry ends done, the event goes out (consumers drop the repeat)."""
    inv = sending.send(w.services, ALICE, HELENE)
    event_id = entry_of(w).event_id
    original, calls = w.messenger.send_email, []

    def with_a_rival(*args):
        original(*args)
        if not calls:
            calls.append(1)
            dispatch.dispatch(w.services, inv.id, event_id)

    w.messenger.send_email = with_a_rival  # type: ignore[method-assign]
    dispatch.dispatch(w.services, inv.id, event_id)
    assert [h.type for h in w.store.history] == ["sent", "dispatched"]
    assert entry_of(w).done and w.store.invitations[inv.id].delivery.status == "sent"
    assert w.publisher.types() == ["InvitationSent", "InvitationSent"]
    assert {d["event_id"] for _, d in w.publisher.published} == {event_id}


def test_a_failed_attempt_counts_on_the_entry_as_stored_now(w):
    w.messenger.fail_next = 1
    inv = sending.send(w.services, ALICE, HELENE)
    stored = entry_of(w)
    w.store.outbox[(inv.id, stored.event_id)] = replace(stored, attempts=2, rev=stored.rev + 1)  # a rival's
    with pytest.raises(dispatch.RetryLater):
        dispatch.dispatch(w.services, inv.id, stored.event_id)
    assert entry_of(w).attempts == 3


def test_a_bus_failure_is_counted_and_retried_without_marking_done(w):
    sending.send(w.services, ALICE, HELENE)
    w.run_outbox()
    managing.delete(w.services, ALICE, next(iter(w.store.invitations)))
    w.publisher.fail_next = 1
    entry = entry_of(w, "InvitationDeleted")
    with pytest.raises(dispatch.RetryLater, match="ThrottlingException"):
        dispatch.dispatch(w.services, entry.invitation_id, entry.event_id)
    assert w.counter.counts["EventPublishFailures"] == 1 and not entry_of(w, "InvitationDeleted").done
    dispatch.dispatch(w.services, entry.invitation_id, entry.event_id)
    assert entry_of(w, "InvitationDeleted").done_at == w.clock.now()
    assert w.counter.counts["EventPublishFailures"] == 1


# -- the sweeper -------------------------------------------------------------------------------


def test_the_sweeper_waits_three_minutes_exactly(w):
    sending.send(w.services, ALICE, HELENE)
    w.clock.advance(minutes=3)
    assert dispatch.sweep(w.services, lambda: True) == (0, 0)
    w.clock.advance(microseconds=1)
    assert dispatch.sweep(w.services, lambda: True) == (1, 1)
    assert w.counter.counts["OutboxUndone"] == 1 and len(w.messenger.emails) == 1


def test_the_sweeper_stops_when_time_runs_short(w):
    for _ in range(3):
        sending.send(w.services, ALICE, HELENE)
        w.clock.advance(seconds=1)
    w.clock.advance(minutes=5)
    budget = iter([True, False, True, True])
    assert dispatch.sweep(w.services, lambda: next(budget)) == (1, 1)
    assert dispatch.sweep(w.services, lambda: False) == (0, 0)
    assert w.counter.counts["OutboxUndone"] == 1
    assert dispatch.sweep(w.services, lambda: True) == (2, 2)


def test_the_sweeper_goes_on_past_a_retry_and_a_poison_entry(w):
    first = sending.send(w.services, ALICE, HELENE)
    w.clock.advance(seconds=1)
    poison = sending.send(w.services, ALICE, Contact("Paul", "Poison", "paul@example.org", None))
    w.clock.advance(seconds=1)
    sending.send(w.services, ALICE, MARC)
    w.clock.advance(minutes=5)
    w.messenger.fail_next = 1  # the first entry: a transient refusal
    original = w.messenger.send_email

    def broken_for_paul(to, *rest):
        if to == "paul@example.org":
            raise ValueError("a bug, not a refusal")
        original(to, *rest)

    w.messenger.send_email = broken_for_paul  # type: ignore[method-assign]
    assert dispatch.sweep(w.services, lambda: True) == (3, 1)
    assert len(w.messenger.sms) == 1 and not w.messenger.emails
    assert w.counter.counts["OutboxUndone"] == 3
    assert dispatch.sweep(w.services, lambda: True) == (2, 1)
    assert w.store.invitations[first.id].delivery.status == "sent"
    assert w.store.invitations[poison.id].delivery.status == "queued"
    assert w.counter.counts["OutboxUndone"] == 5
