"""The use cases at their edges: the commit loop's exact number of attempts and the values it
may reuse without reading, the business metrics, the patient's link on values as read from the
table, and the patient record's stamps."""

from dataclasses import replace

import pytest

from invitations.domain import events
from invitations.domain.errors import Busy, LinkExpired, LinkGone, NotFound
from invitations.domain.invitation import Contact
from invitations.use_cases import expiry, managing, patient_link, patients, sending
from invitations.use_cases.base import Clinician
from tests.fakes import World, as_read, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")
BOB = Clinician("clin-bob", "Dr Bob Lefèvre")
HELENE = Contact("Hélène", "Dupont", "helene@example.org", None)


@pytest.fixture
def w() -> World:
    return world()


def token(w: World, inv) -> str:
    return w.services.links.url(inv.id, inv.link_version).rsplit("/i/", 1)[1]


def restore(w: World, invitation_id: str, status: str | None = None) -> None:
    """The stored invitation as the adapter would read it back (its status decoded, not a literal)."""
    stored = w.store.invitations[invitation_id]
    w.store.invitations[invitation_id] = replace(stored, stored_status=as_read(status or stored.stored_status))


def test_seven_lost_races_are_retried_the_eighth_gives_up(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.store.lose_next = 7
    assert managing.correct(w.services, ALICE, inv.id, {"first_name": "Léa"}).first_name == "Léa"
    assert w.store.lose_next == 0 and w.store.commits == 2
    w.store.lose_next = 8
    with pytest.raises(Busy):
        managing.correct(w.services, ALICE, inv.id, {"first_name": "Zoé"})
    assert w.store.lose_next == 0 and w.store.invitations[inv.id].first_name == "Léa"


def test_the_first_attempt_uses_the_listed_value_without_reading(w):
    for _ in range(2):
        sending.send(w.services, ALICE, HELENE)
    w.clock.advance(days=15)
    reads = w.store.reads
    assert expiry.expire_overdue(w.services, lambda: True).expired == 2
    assert w.store.reads == reads  # both written from the listing, conditioned on its revision


def test_a_lost_race_reads_again_instead_of_reusing_the_listed_value(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.clock.advance(days=15)
    w.store.lose_next = 1
    reads = w.store.reads
    assert expiry.expire_overdue(w.services, lambda: True).expired == 1
    assert w.store.reads == reads + 1 and w.store.invitations[inv.id].stored_status == "expired"


def test_metrics_count_committed_sends_acceptances_and_expiries_only(w):
    first = sending.send(w.services, ALICE, HELENE)
    w.store.lose_next = 1
    second = sending.send(w.services, ALICE, HELENE)
    managing.correct(w.services, ALICE, second.id, {"last_name": "Durand"})
    patient_link.accept(w.services, token(w, first))
    w.clock.advance(days=15)
    expiry.expire_overdue(w.services, lambda: True)
    managing.delete(w.services, ALICE, second.id)
    assert w.counter.counts == {"InvitationsSent": 2, "InvitationsAccepted": 1, "InvitationsExpired": 1}


def test_accepting_again_a_link_read_back_from_the_table_is_idempotent(w):
    inv = sending.send(w.services, ALICE, HELENE)
    first = patient_link.accept(w.services, token(w, inv))
    restore(w, inv.id)
    again = patient_link.accept(w.services, token(w, inv))
    assert again.patient_id == first.patient_id and len(w.store.patients) == 1
    assert [h.type for h in w.store.history] == ["sent", "accepted"]
    w.clock.advance(days=30)
    restore(w, inv.id)
    assert patient_link.view(w.services, token(w, inv)).patient_id == first.patient_id


def test_a_link_read_back_deleted_or_expired_is_refused(w):
    inv = sending.send(w.services, ALICE, HELENE)
    restore(w, inv.id)
    assert patient_link.view(w.services, token(w, inv)).id == inv.id
    w.clock.advance(days=14)
    with pytest.raises(LinkExpired):
        patient_link.view(w.services, token(w, inv))
    restore(w, inv.id, "expired")
    with pytest.raises(LinkExpired):
        patient_link.accept(w.services, token(w, inv))
    managing.delete(w.services, ALICE, inv.id)
    restore(w, inv.id)
    for use in (patient_link.view, patient_link.accept):
        with pytest.raises(LinkGone):
            use(w.services, token(w, inv))
    assert not w.store.patients


def test_a_well_signed_link_to_no_invitation_is_gone(w):
    inv = sending.send(w.services, ALICE, HELENE)
    del w.store.invitations[inv.id]
    for use in (patient_link.view, patient_link.accept):
        with pytest.raises(LinkGone):
            use(w.services, token(w, inv))


def test_a_patient_record_keeps_its_stamps(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.clock.advance(hours=1)
    patient_id = patient_link.accept(w.services, token(w, inv)).patient_id
    created = w.store.patients[patient_id]
    assert created.created_at == created.updated_at == w.clock.now()
    w.clock.advance(hours=2)
    corrected = patients.correct(w.services, ALICE, patient_id, {"last_name": "Durand"})
    assert corrected.updated_at == w.clock.now() and corrected.created_at == created.created_at
    assert corrected.rev == created.rev + 1 and w.store.patients[patient_id] == corrected
    w.clock.advance(hours=3)
    left = patients.leave_thread(w.services, ALICE, patient_id)
    assert left.left_at == left.updated_at == w.clock.now() and left.last_name == "Durand"
    w.clock.advance(hours=4)
    again = patients.leave_thread(w.services, ALICE, patient_id)
    assert again == left == w.store.patients[patient_id]
    assert [h.type for h in w.store.history] == ["sent", "accepted", "thread_left"]
    for other in (lambda: patients.get(w.services, BOB, patient_id), lambda: patients.get(w.services, ALICE, "x")):
        with pytest.raises(NotFound):
            other()


def test_a_fallback_sms_goes_by_sms_though_the_invitation_has_an_address(w):
    inv = sending.send(w.services, ALICE, Contact("Anne", "Alpha", "anne@example.org", "+33612345678"))
    w.run_outbox()
    uow = w.services.unit_of_work()
    report = events.delivery_reported(inv, "bounced", as_read("email"), 1, w.clock.now(), fallback=True)
    assert report.message is not None
    uow.raise_event(replace(report, message=replace(report.message, channel=as_read("sms"))))
    uow.commit()
    w.run_outbox()
    assert len(w.messenger.emails) == 1 and len(w.messenger.sms) == 1
    assert w.messenger.sms[0]["to"] == "+33612345678" and w.services.links.url(inv.id, 1) in w.messenger.sms[0]["text"]
    assert w.store.invitations[inv.id].delivery.channel == "sms"


def test_a_message_read_back_from_the_outbox_goes_on_its_channel(w):
    inv = sending.send(w.services, ALICE, HELENE)
    [(key, entry)] = w.store.outbox.items()
    assert entry.message is not None
    w.store.outbox[key] = replace(entry, message=replace(entry.message, channel=as_read("email")))
    assert w.run_outbox() == 0
    assert [m["to"] for m in w.messenger.emails] == ["helene@example.org"] and not w.messenger.sms
    assert w.store.invitations[inv.id].delivery.status == "sent"


def _kinds_as_read(w):
    """The undone messages' kinds as an adapter reads them back from the outbox items."""
    for key, entry in list(w.store.outbox.items()):
        if entry.message is not None and not entry.done:
            w.store.outbox[key] = replace(entry, message=replace(entry.message, kind=as_read(entry.message.kind)))


def test_a_reminder_read_back_from_the_outbox_is_written_as_a_reminder(w):
    from invitations.use_cases import reminders

    sending.send(w.services, ALICE, Contact("Jeanne", "Rivière", "jeanne@example.org", None))
    w.run_outbox()
    w.clock.advance(days=11)
    assert reminders.send_due(w.services, lambda: True) == 1
    _kinds_as_read(w)
    w.run_outbox()
    assert w.messenger.emails[-1]["subject"].startswith("Rappel")
    assert not w.messenger.emails[0]["subject"].startswith("Rappel")


def test_a_reminder_by_sms_is_written_as_a_reminder_when_it_fits(w):
    from invitations.tokens import SignedLinks, TokenSigner
    from invitations.use_cases import reminders

    w.services.links = SignedLinks(TokenSigner(b"unit-test-secret"), "https://x.fr")  # room for the reminder
    sending.send(w.services, ALICE, Contact("Marc", "Petit", None, "+33612345678"))
    w.run_outbox()
    w.clock.advance(days=11)
    assert reminders.send_due(w.services, lambda: True) == 1
    _kinds_as_read(w)
    w.run_outbox()
    first, reminder = (sms["text"] for sms in w.messenger.sms)
    assert reminder.startswith("Rappel") and not first.startswith("Rappel")
