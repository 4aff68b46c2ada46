"""The history expires with its invitation: each entry is written with the invitation's retention
as its change leaves it, and the dispatcher aligns the older entries after a deletion, an expiry
or a resend, to the invitation as it is then (late, retried and racing events included)."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from invitations.domain import events, history
from invitations.domain import invitation as invitations
from invitations.domain.delivery import Report
from invitations.domain.invitation import Contact
from invitations.use_cases import dispatch, expiry, managing, patient_link, patients, reminders, reports, sending
from invitations.use_cases.base import Clinician
from tests.fakes import FakeHistory, World, as_read, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")
HELENE = Contact("Hélène", "Dupont", "helene@example.org", None)
RETENTION = timedelta(days=90)


@pytest.fixture
def w() -> World:
    return world()


def kept(w: World, invitation_id: str) -> list[tuple[str, datetime | None]]:
    return [(h.type, h.kept_until) for h in w.store.history if h.invitation_id == invitation_id]


def entry_of(w: World, event_type: str):
    [entry] = [e for e in w.store.outbox.values() if e.event_type == event_type]
    return entry


def expired(w: World):
    """An invitation sent, dispatched, then expired by the job (its expiry not dispatched yet)."""
    inv = sending.send(w.services, ALICE, HELENE)
    w.run_outbox()
    w.clock.advance(days=15)
    assert expiry.expire_overdue(w.services, lambda: True).expired == 1
    return w.store.invitations[inv.id]


# -- the rule ----------------------------------------------------------------------------------


def test_an_invitation_is_kept_for_the_retention_after_its_deletion_or_its_expiry_only(w):
    inv = sending.send(w.services, ALICE, HELENE)
    now = w.clock.now()
    assert invitations.retained_until(inv, RETENTION) is None
    for status in ("pending", "accepted"):
        assert invitations.retained_until(replace(inv, stored_status=as_read(status)), RETENTION) is None
    gone = replace(inv, stored_status=as_read("deleted"), deleted_at=now + timedelta(days=2))
    assert invitations.retained_until(gone, RETENTION) == now + timedelta(days=92)
    over = replace(inv, stored_status=as_read("expired"))
    assert invitations.retained_until(over, RETENTION) == inv.expires_at + RETENTION
    assert invitations.retained_until(over, timedelta(days=1)) == inv.expires_at + timedelta(days=1)
    assert history.kept_until(over, RETENTION) == inv.expires_at + RETENTION
    assert history.kept_until(inv, RETENTION) is None and history.kept_until(None, RETENTION) is None


def test_the_events_after_which_the_history_is_aligned(w):
    inv = sending.send(w.services, ALICE, HELENE)
    now = w.clock.now()
    resent = replace(inv, send_count=2)

    def moves(event: events.DomainEvent) -> bool:
        return history.moves_retention(as_read(event.type), event.detail())

    assert moves(events.invitation_deleted(inv, ALICE.actor, now))
    assert moves(events.invitation_expired(inv, now))
    assert moves(events.invitation_sent(resent, ALICE.actor, now))
    assert not moves(events.invitation_sent(inv, ALICE.actor, now))  # the first send: nothing kept yet
    assert not moves(events.invitation_corrected(inv, ["email"], ALICE.actor, now))
    assert not moves(events.invitation_reminded(resent, now))
    assert not moves(events.delivery_reported(inv, "bounced", "email", 1, now, fallback=False))
    assert history.moves_retention("InvitationSent", {})  # no count: aligned, to be safe
    assert not history.moves_retention("InvitationAccepted", {"send_count": 2})


# -- written with the invitation's retention ---------------------------------------------------


def test_the_deletion_is_written_with_the_tombstones_retention_and_the_dispatcher_aligns_the_rest(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.run_outbox()
    managing.correct(w.services, ALICE, inv.id, {"last_name": "Durand"})
    w.clock.advance(hours=1)
    managing.delete(w.services, ALICE, inv.id)
    until = w.clock.now() + RETENTION
    assert kept(w, inv.id) == [("sent", None), ("dispatched", None), ("corrected", None), ("deleted", until)]
    assert w.run_outbox() == 0
    assert kept(w, inv.id) == [("sent", until), ("dispatched", until), ("corrected", until), ("deleted", until)]
    assert w.store.alignments == [inv.id]  # the correction's event moved nothing


def test_an_expiry_is_written_with_the_expired_retention_and_the_dispatcher_aligns_the_rest(w):
    inv = expired(w)
    until = inv.expires_at + RETENTION
    assert kept(w, inv.id) == [("sent", None), ("dispatched", None), ("expired", until)]
    w.run_outbox()
    assert kept(w, inv.id) == [("sent", until), ("dispatched", until), ("expired", until)]


def test_a_message_found_deleted_and_a_late_report_are_kept_as_long_as_the_tombstone(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.run_outbox()
    message_id = w.store.invitations[inv.id].delivery.message_id
    assert message_id is not None
    reports.record(w.services, Report("r1", message_id, "delivered", w.clock.advance(seconds=1)))
    late = sending.send(w.services, ALICE, Contact("Anne", "Alpha", "anne@example.org", None))
    managing.delete(w.services, ALICE, late.id)
    managing.delete(w.services, ALICE, inv.id)
    tombstone = w.clock.now() + RETENTION
    w.clock.advance(hours=2)
    assert reports.record(w.services, Report("r2", message_id, "delivered", w.clock.now()))  # history only
    assert kept(w, inv.id)[-1] == ("delivered", tombstone)
    w.run_outbox()
    assert kept(w, late.id) == [("sent", tombstone), ("deleted", tombstone), ("not_sent", tombstone)]


def test_a_pending_or_accepted_invitations_history_is_kept_while_it_is(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.run_outbox()
    w.clock.advance(days=11, hours=1)
    assert reminders.send_due(w.services, lambda: True) == 1
    w.run_outbox()
    token = w.services.links.url(inv.id, inv.link_version).rsplit("/i/", 1)[1]
    patient_id = patient_link.accept(w.services, token).patient_id
    patients.leave_thread(w.services, ALICE, patient_id)
    w.run_outbox()
    entries = kept(w, inv.id)
    assert [kind for kind, _ in entries] == ["sent", "dispatched", "reminded", "dispatched", "accepted", "thread_left"]
    assert {until for _, until in entries} == {None}
    assert w.store.alignments == []  # not one of these events moves the retention: no read, no query


# -- aligned by the dispatcher, to the invitation as it is now ---------------------------------


def test_a_resend_revives_an_expired_invitation_and_its_history(w):
    inv = expired(w)
    w.run_outbox()
    assert {until for _, until in kept(w, inv.id)} == {inv.expires_at + RETENTION}
    w.clock.advance(hours=1)
    sending.resend(w.services, ALICE, inv.id)
    assert kept(w, inv.id)[-1] == ("resent", None)
    w.run_outbox()
    assert [kind for kind, _ in kept(w, inv.id)] == ["sent", "dispatched", "expired", "resent", "dispatched"]
    assert {until for _, until in kept(w, inv.id)} == {None}


def test_an_expiry_dispatched_after_the_resend_puts_no_retention_back(w):
    inv = expired(w)
    w.clock.advance(hours=1)
    sending.resend(w.services, ALICE, inv.id)  # before the expiry's entry is dispatched
    late = entry_of(w, "InvitationExpired")
    dispatch.dispatch(w.services, inv.id, late.event_id)
    assert {until for _, until in kept(w, inv.id)} == {None}  # the expiry's own entry too
    w.run_outbox()
    w.store.outbox[inv.id, late.event_id] = replace(entry_of(w, "InvitationExpired"), done_at=None)  # a retry
    dispatch.dispatch(w.services, inv.id, late.event_id)
    assert {until for _, until in kept(w, inv.id)} == {None}


def test_a_repeated_alignment_writes_nothing_more(w):
    inv = sending.send(w.services, ALICE, HELENE)
    managing.delete(w.services, ALICE, inv.id)
    w.publisher.fail_next = 1
    deleted = entry_of(w, "InvitationDeleted")
    with pytest.raises(dispatch.RetryLater):
        dispatch.dispatch(w.services, inv.id, deleted.event_id)
    aligned = list(w.store.history)
    assert {h.kept_until for h in aligned} == {w.clock.now() + RETENTION}
    assert FakeHistory(w.store).align(w.store.invitations[inv.id]) == 0
    w.clock.advance(minutes=10)
    assert dispatch.sweep(w.services, lambda: True) == (2, 2)
    assert w.store.history[: len(aligned)] == aligned and w.store.alignments == [inv.id] * 3


def test_an_invitation_gone_is_not_aligned_to(w):
    inv = sending.send(w.services, ALICE, HELENE)
    managing.delete(w.services, ALICE, inv.id)
    del w.store.invitations[inv.id]  # its tombstone erased by TTL before the entry's turn
    assert w.run_outbox() == 0
    assert w.store.alignments == [] and kept(w, inv.id)[:2] == [("sent", None), ("deleted", w.clock.now() + RETENTION)]


def test_the_invitation_read_again_is_compared_by_its_revisions_value(w):
    """Two reads decode two equal revisions, never the same object (above 256, not even for ints)."""
    inv = sending.send(w.services, ALICE, HELENE)
    managing.delete(w.services, ALICE, inv.id)
    w.store.invitations[inv.id] = replace(w.store.invitations[inv.id], rev=1000)
    unit_of_work = w.services.unit_of_work

    def decoding_each_read():
        uow = unit_of_work()
        read = uow.invitations.get

        def get(*key: str):
            found = read(*key)
            return replace(found, rev=int(str(found.rev))) if found else None

        uow.invitations.get = get  # type: ignore[method-assign]
        return uow

    w.services.unit_of_work = decoding_each_read
    assert w.run_outbox() == 0
    assert w.store.alignments == [inv.id]  # wrote, read again, found it unchanged


def test_a_change_committed_while_aligning_is_aligned_to_in_turn(w, monkeypatch):
    """The resend's own dispatch may have aligned before this one's writes land: this one reads
    the invitation again after writing, and aligns to what it finds."""
    inv = expired(w)
    align = FakeHistory.align
    rivals: list[int] = []

    def with_a_resend_meanwhile(self, invitation):
        written = align(self, invitation)
        if not rivals:
            rivals.append(1)
            sending.resend(w.services, ALICE, inv.id)
        return written

    monkeypatch.setattr(FakeHistory, "align", with_a_resend_meanwhile)
    dispatch.dispatch(w.services, inv.id, entry_of(w, "InvitationExpired").event_id)
    assert {until for _, until in kept(w, inv.id)} == {None}
    assert w.store.alignments == [inv.id, inv.id]  # the second wrote, a third read found no change


def test_an_invitation_that_keeps_changing_is_retried_later(w, monkeypatch):
    inv = expired(w)
    rounds: list[int] = []

    def a_change_each_time(self, invitation):
        rounds.append(1)
        w.store.invitations[inv.id] = replace(invitation, rev=invitation.rev + 1)
        return 1

    monkeypatch.setattr(FakeHistory, "align", a_change_each_time)
    expired_entry = entry_of(w, "InvitationExpired")
    with pytest.raises(dispatch.RetryLater, match="kept changing"):
        dispatch.dispatch(w.services, inv.id, expired_entry.event_id)
    assert dispatch.ALIGN_ROUNDS == 3 and len(rounds) == 3
    assert not entry_of(w, "InvitationExpired").done and "InvitationExpired" not in w.publisher.types()


# -- an entry whose invitation the change only read ---------------------------------------------


def test_an_entry_that_takes_an_invitation_only_read_loses_the_race_to_a_resend_and_retries(w):
    """A report about an older message goes to the history only: its entry takes the expired
    invitation's retention, so a resend committed meanwhile refuses it; the retry reads the
    revived invitation and writes the entry without a ttl."""
    from invitations.domain.errors import ConcurrentChange

    inv = expired(w)
    w.run_outbox()
    uow = w.services.unit_of_work()
    assert uow.invitations.get(inv.id) is not None  # read, not written
    uow.record(history.report(inv.id, "delivered", w.clock.now(), "email", "r-old", None))
    w.clock.advance(minutes=1)
    sending.resend(w.services, ALICE, inv.id)  # commits first, and its alignment runs at once
    w.run_outbox()
    with pytest.raises(ConcurrentChange):
        uow.commit()
    assert ("delivered", inv.expires_at + RETENTION) not in kept(w, inv.id)
    older = inv.delivery.message_id
    assert reports.record(w.services, Report("r-old", older, "delivered", w.clock.now(), None))
    assert {until for _, until in kept(w, inv.id)} == {None}
