"""Every use case on the fakes (tests/fakes.py): what it stores, what it sends, which events it
raises and when, and how it behaves on a lost race. No AWS, no network, microseconds each."""

from datetime import timedelta

import pytest

from invitations import read_model
from invitations.domain import outbox
from invitations.domain.errors import (
    Busy,
    InvalidCursor,
    InvitationAccepted,
    LinkExpired,
    LinkGone,
    NotFound,
    TooManySends,
)
from invitations.domain.invitation import Contact
from invitations.use_cases import dispatch, expiry, managing, patient_link, patients, sending
from invitations.use_cases.base import ATTEMPTS, Clinician
from tests.fakes import BASE_URL, World, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")
BOB = Clinician("clin-bob", "Dr Bob Lefèvre")
HELENE = Contact("Hélène", "Dupont", "helene@example.org", None)
MARC = Contact("Marc", "Petit", None, "+33612345678")


@pytest.fixture
def w() -> World:
    return world()


def token(w: World, inv) -> str:
    return w.services.links.url(inv.id, inv.link_version).rsplit("/i/", 1)[1]


# -- sending -----------------------------------------------------------------------------------


def test_send_stores_the_invitation_its_event_and_history_in_one_commit_and_calls_no_provider(w):
    inv = sending.send(w.services, ALICE, HELENE)
    assert w.store.invitations[inv.id] == inv and inv.delivery.status == "queued"
    assert w.store.commits == 1 and not w.messenger.emails and not w.publisher.published
    [entry] = w.store.outbox.values()
    assert entry.event_type == "InvitationSent" and entry.message is not None
    assert (entry.message.channel, entry.message.link_version) == ("email", 1)
    assert "helene" not in str(entry).lower() and "/i/" not in str(entry)  # ids only, never the link
    assert [h.type for h in w.store.history] == ["sent"] and w.store.history[0].actor == ALICE.actor
    assert w.counter.counts == {"InvitationsSent": 1}


def test_dispatch_sends_the_link_records_it_and_publishes_the_event(w):
    inv = sending.send(w.services, ALICE, HELENE)
    assert w.run_outbox() == 0
    [mail] = w.messenger.emails
    assert mail["to"] == "helene@example.org" and w.services.links.url(inv.id, 1) in mail["text"]
    assert "Dr Alice Martin" in mail["subject"] and not w.messenger.sms
    assert w.store.invitations[inv.id].delivery.status == "sent"
    [detail] = w.publisher.of_type("InvitationSent")
    assert detail["invitation_id"] == inv.id and detail["link_version"] == 1 and detail["event_id"]
    assert detail["actor"] == {"kind": "clinician", "id": ALICE.id} and detail["delivery_status"] == "queued"
    assert [h.type for h in w.store.history] == ["sent", "dispatched"]


def test_send_by_sms_when_there_is_no_address(w):
    inv = sending.send(w.services, ALICE, MARC)
    w.run_outbox()
    [sms] = w.messenger.sms
    assert sms["to"] == "+33612345678" and w.services.links.url(inv.id, 1) in sms["text"]
    assert inv.channel == "sms" and not w.messenger.emails


def test_a_transient_refusal_is_retried_and_the_message_goes_once(w):
    w.messenger.fail_next = 3
    inv = sending.send(w.services, ALICE, HELENE)
    assert w.run_outbox(passes=3) == 1  # still refused three times
    assert w.store.invitations[inv.id].delivery.status == "queued" and not w.publisher.published
    assert w.run_outbox() == 0
    assert len(w.messenger.emails) == 1 and w.store.invitations[inv.id].delivery.status == "sent"
    assert len(w.publisher.of_type("InvitationSent")) == 1


def test_a_permanent_refusal_is_recorded_failed_at_once(w):
    w.messenger.fail_with, w.messenger.permanent = "email not sent: MessageRejected", True
    inv = sending.send(w.services, ALICE, HELENE)
    assert w.run_outbox() == 0
    stored = w.store.invitations[inv.id]
    assert stored.delivery.status == "failed" and stored.delivery.detail == "email not sent: MessageRejected"
    assert w.counter.counts["DeliveryFailures"] == 1
    assert [h.type for h in w.store.history] == ["sent", "failed"]
    assert w.publisher.types() == ["InvitationSent"]  # the event still goes out


def test_retries_run_out_then_the_message_is_failed(w):
    w.messenger.fail_with = "email not sent: Throttling"
    inv = sending.send(w.services, ALICE, HELENE)
    assert w.run_outbox(passes=outbox.MAX_DELIVERY_ATTEMPTS + 3) == 1  # a burst: retried, not failed
    assert w.store.invitations[inv.id].delivery.status == "queued"
    w.clock.advance(minutes=30)
    assert w.run_outbox() == 0
    assert w.store.invitations[inv.id].delivery.status == "failed"


def test_a_failing_bus_delays_the_event_but_never_sends_the_message_twice(w):
    w.publisher.fail_next = 4
    inv = sending.send(w.services, ALICE, HELENE)
    assert w.run_outbox(passes=4) == 1
    assert w.run_outbox() == 0
    assert len(w.messenger.emails) == 1 and len(w.publisher.of_type("InvitationSent")) == 1
    assert w.counter.counts["EventPublishFailures"] == 4
    assert w.store.invitations[inv.id].delivery.status == "sent"


def test_dispatching_a_done_entry_again_does_nothing(w):
    sending.send(w.services, ALICE, HELENE)
    w.run_outbox()
    [entry] = w.store.outbox.values()
    dispatch.dispatch(w.services, entry.invitation_id, entry.event_id)
    dispatch.dispatch(w.services, entry.invitation_id, "f" * 32)  # unknown: nothing either
    assert len(w.messenger.emails) == 1 and len(w.publisher.published) == 1
    assert entry.done and entry.done_at == w.clock.now()


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda w, i: managing.correct(w.services, ALICE, i, {"email": "autre@example.org"}), "link replaced"),
        (lambda w, i: managing.delete(w.services, ALICE, i), "invitation deleted"),
        (lambda w, i: sending.resend(w.services, ALICE, i), "link replaced"),
    ],
)
def test_a_message_made_stale_before_its_turn_is_not_sent(w, change, reason):
    inv = sending.send(w.services, ALICE, HELENE)
    change(w, inv.id)
    w.run_outbox()
    first = [e for e in w.store.history if e.type == "not_sent"]
    assert len(first) == 1 and first[0].detail == reason
    assert all(w.services.links.url(inv.id, 1) not in mail["text"] for mail in w.messenger.emails)


def test_an_accepted_invitations_message_is_not_sent(w):
    inv = sending.send(w.services, ALICE, HELENE)
    patient_link.accept(w.services, token(w, inv))
    w.run_outbox()
    assert not w.messenger.emails and w.publisher.types() == ["InvitationSent", "InvitationAccepted"]


def test_an_outcome_for_a_replaced_link_changes_nothing(w):
    """The message was sent, then the link replaced before its outcome was recorded: the newer
    link's `not_sent` stays."""
    inv = sending.send(w.services, ALICE, HELENE)
    original = w.messenger.send_email

    def correct_meanwhile(*args):
        original(*args)
        managing.correct(w.services, ALICE, inv.id, {"email": "autre@example.org"})

    w.messenger.send_email = correct_meanwhile  # type: ignore[method-assign]
    w.run_outbox()
    stored = w.store.invitations[inv.id]
    assert stored.link_version == 2 and stored.delivery.status == "not_sent"
    assert [h.type for h in w.store.history] == ["sent", "corrected", "dispatched"]


def test_resend_gives_a_new_link_and_a_message_on_the_current_channel(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.run_outbox()
    w.clock.advance(days=20)
    again = sending.resend(w.services, ALICE, inv.id)
    assert again.link_version == 2 and again.send_count == 2 and again.status_at(w.clock.now()) == "pending"
    assert again.delivery.status == "queued"
    w.run_outbox()
    assert w.services.links.url(inv.id, 2) in w.messenger.emails[-1]["text"]
    assert w.publisher.types() == ["InvitationSent", "InvitationSent"]
    assert [h.type for h in w.store.history] == ["sent", "dispatched", "resent", "dispatched"]


def test_resend_respects_the_send_limit_and_ownership(w):
    inv = sending.send(w.services, ALICE, HELENE)
    with pytest.raises(NotFound):
        sending.resend(w.services, BOB, inv.id)
    for _ in range(4):
        sending.resend(w.services, ALICE, inv.id)
    with pytest.raises(TooManySends):
        sending.resend(w.services, ALICE, inv.id)
    w.run_outbox()
    assert len(w.messenger.emails) == 1  # only the current link's message: the older ones were stale


def test_the_sweeper_dispatches_what_the_stream_left_and_counts_it(w):
    inv = sending.send(w.services, ALICE, HELENE)
    assert dispatch.sweep(w.services, lambda: True) == (0, 0)  # too recent: the stream's turn
    w.clock.advance(minutes=10)
    w.publisher.fail_next = 1
    assert dispatch.sweep(w.services, lambda: True) == (1, 0)
    assert dispatch.sweep(w.services, lambda: True) == (1, 1)
    assert w.counter.counts["OutboxUndone"] == 2
    assert len(w.messenger.emails) == 1 and w.store.invitations[inv.id].delivery.status == "sent"
    assert dispatch.sweep(w.services, lambda: True) == (0, 0)


def test_history_is_the_owners_oldest_first_without_patient_data(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.clock.advance(minutes=1)
    w.run_outbox()
    w.clock.advance(minutes=1)
    managing.correct(w.services, ALICE, inv.id, {"first_name": "Léa", "email": "lea@example.org"})
    w.clock.advance(minutes=1)
    sending.resend(w.services, ALICE, inv.id)
    w.run_outbox()
    entries = managing.history(w.services, ALICE, inv.id)
    assert [e.type for e in entries] == ["sent", "dispatched", "corrected", "resent", "dispatched"]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert entries[2].detail == "email, first_name" and entries[2].actor == ALICE.actor
    assert entries[1].actor.kind == "system" and entries[1].channel == "email"
    text = str(entries).lower()
    assert "lea@" not in text and "léa" not in text and "helene" not in text and "/i/" not in text
    with pytest.raises(NotFound):
        managing.history(w.services, BOB, inv.id)


# -- managing ----------------------------------------------------------------------------------


def test_get_is_the_owners_only(w):
    inv = sending.send(w.services, ALICE, HELENE)
    assert managing.get(w.services, ALICE, inv.id) == inv
    with pytest.raises(NotFound):
        managing.get(w.services, BOB, inv.id)


def test_correct_stores_and_sends_nothing(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.run_outbox()
    corrected = managing.correct(w.services, ALICE, inv.id, {"last_name": "Durand"})
    assert w.store.invitations[inv.id].last_name == "Durand" == corrected.last_name
    w.run_outbox()
    assert len(w.messenger.emails) == 1 and w.publisher.types() == ["InvitationSent", "InvitationCorrected"]
    assert w.publisher.of_type("InvitationCorrected")[0]["fields"] == ["last_name"]
    with pytest.raises(NotFound):
        managing.correct(w.services, BOB, inv.id, {"last_name": "X"})


def test_delete_kills_the_link_and_publishes_once(w):
    inv = sending.send(w.services, ALICE, HELENE)
    with pytest.raises(NotFound):
        managing.delete(w.services, BOB, inv.id)
    managing.delete(w.services, ALICE, inv.id)
    assert w.store.invitations[inv.id].stored_status == "deleted"
    w.run_outbox()
    [event] = w.publisher.of_type("InvitationDeleted")
    assert event["actor"]["id"] == ALICE.id
    with pytest.raises(NotFound):
        managing.delete(w.services, ALICE, inv.id)
    with pytest.raises(LinkGone):
        patient_link.view(w.services, token(w, inv))


def test_an_accepted_invitation_cannot_be_deleted(w):
    inv = sending.send(w.services, ALICE, HELENE)
    patient_link.accept(w.services, token(w, inv))
    with pytest.raises(InvitationAccepted):
        managing.delete(w.services, ALICE, inv.id)


# -- the patient's link ------------------------------------------------------------------------


def test_accept_creates_one_patient_in_the_same_commit_and_is_idempotent(w):
    inv = sending.send(w.services, ALICE, MARC)
    commits = w.store.commits
    done = patient_link.accept(w.services, token(w, inv))
    assert w.store.commits == commits + 1 and w.store.writes[-1] == 4  # invitation, patient, event, history
    [patient] = w.store.patients.values()
    assert done.patient_id == patient.id and patient.phone == "+33612345678"
    again = patient_link.accept(w.services, token(w, inv))
    assert again.patient_id == patient.id and len(w.store.patients) == 1
    w.run_outbox()
    accepted = w.publisher.of_type("InvitationAccepted")
    assert len(accepted) == 1 and accepted[0]["actor"] == {"kind": "patient", "id": None}
    assert accepted[0]["thread"] == {"clinician_id": ALICE.id, "patient_id": patient.id}
    assert w.counter.counts["InvitationsAccepted"] == 1


def test_a_link_works_until_replaced_or_expired(w):
    inv = sending.send(w.services, ALICE, HELENE)
    old = token(w, inv)
    assert patient_link.view(w.services, old).id == inv.id
    resent = sending.resend(w.services, ALICE, inv.id)
    with pytest.raises(LinkGone):
        patient_link.view(w.services, old)
    with pytest.raises(LinkGone):
        patient_link.accept(w.services, old)
    w.clock.advance(days=14)
    with pytest.raises(LinkExpired):
        patient_link.view(w.services, token(w, resent))
    with pytest.raises(LinkExpired):
        patient_link.accept(w.services, token(w, resent))
    for forged in ("", "x" * 80, "not-a-token", token(w, resent)[:-2] + "AA"):
        with pytest.raises(LinkGone):
            patient_link.view(w.services, forged)


def test_an_accepted_link_still_shows_its_page_after_expiry(w):
    inv = sending.send(w.services, ALICE, HELENE)
    patient_link.accept(w.services, token(w, inv))
    w.clock.advance(days=30)
    assert patient_link.view(w.services, token(w, inv)).stored_status == "accepted"


# -- lost races --------------------------------------------------------------------------------


def test_a_lost_race_is_decided_again_on_fresh_state(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.store.lose_next = 2
    assert managing.correct(w.services, ALICE, inv.id, {"first_name": "Léa"}).first_name == "Léa"
    assert w.store.invitations[inv.id].rev == inv.rev + 1


def test_losing_every_race_gives_up_busy(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.store.lose_next = ATTEMPTS
    with pytest.raises(Busy):
        managing.correct(w.services, ALICE, inv.id, {"first_name": "Léa"})
    assert w.store.invitations[inv.id].first_name == "Hélène"


def test_events_of_a_lost_attempt_are_not_stored(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.store.lose_next = 1
    managing.delete(w.services, ALICE, inv.id)
    w.run_outbox()
    assert w.publisher.types().count("InvitationDeleted") == 1
    assert [h.type for h in w.store.history].count("deleted") == 1


# -- expiry ------------------------------------------------------------------------------------


def test_expiry_flips_each_overdue_invitation_once(w):
    due = [sending.send(w.services, ALICE, HELENE) for _ in range(3)]
    w.clock.advance(days=13)
    fresh = sending.send(w.services, ALICE, MARC)
    w.clock.advance(days=1)
    run = expiry.expire_overdue(w.services, lambda: True)
    assert (run.expired, run.complete) == (3, True)
    assert {w.store.invitations[i.id].stored_status for i in due} == {"expired"}
    assert w.store.invitations[fresh.id].stored_status == "pending"
    w.run_outbox()
    expired = w.publisher.of_type("InvitationExpired")
    assert sorted(e["invitation_id"] for e in expired) == sorted(i.id for i in due)
    assert all(e["actor"]["kind"] == "system" for e in expired) and w.counter.counts["InvitationsExpired"] == 3
    assert expiry.expire_overdue(w.services, lambda: True).expired == 0


def test_expiry_stops_when_time_runs_short_and_resumes(w):
    for _ in range(3):
        sending.send(w.services, ALICE, HELENE)
    w.clock.advance(days=15)
    budget = iter([True, False])
    first = expiry.expire_overdue(w.services, lambda: next(budget, False))
    assert (first.expired, first.complete) == (1, False)
    assert expiry.expire_overdue(w.services, lambda: True).expired == 2


def test_expiry_skips_one_resent_since_it_was_listed(w):
    inv = sending.send(w.services, ALICE, HELENE)
    w.clock.advance(days=15)
    stale = w.store.invitations[inv.id]
    sending.resend(w.services, ALICE, inv.id)
    w.services.queries.overdue = lambda now: iter([stale])  # type: ignore[method-assign]
    assert expiry.expire_overdue(w.services, lambda: True).expired == 0
    assert w.store.invitations[inv.id].stored_status == "pending"


# -- patients ----------------------------------------------------------------------------------


def _patient(w: World):
    inv = sending.send(w.services, ALICE, HELENE)
    return patient_link.accept(w.services, token(w, inv)).patient_id


def test_a_patient_record_is_the_owners_to_read_and_correct(w):
    patient_id = _patient(w)
    assert patients.get(w.services, ALICE, patient_id).first_name == "Hélène"
    with pytest.raises(NotFound):
        patients.get(w.services, BOB, patient_id)
    w.clock.advance(hours=1)
    corrected = patients.correct(w.services, ALICE, patient_id, {"phone": "+33612345678"})
    assert w.store.patients[patient_id] == corrected and corrected.updated_at == w.clock.now()
    with pytest.raises(NotFound):
        patients.correct(w.services, BOB, patient_id, {"phone": "+33612345678"})


def test_leaving_the_thread_twice_publishes_once(w):
    patient_id = _patient(w)
    with pytest.raises(NotFound):
        patients.leave_thread(w.services, BOB, patient_id)
    first = patients.leave_thread(w.services, ALICE, patient_id)
    again = patients.leave_thread(w.services, ALICE, patient_id)
    assert first.thread == again.thread == "left" and first.rev == again.rev
    w.run_outbox()
    [left] = w.publisher.of_type("PatientThreadLeft")
    assert left["patient_id"] == patient_id and left["actor"]["id"] == ALICE.id


# -- the read model ----------------------------------------------------------------------------


def _send_names(w: World, *names: str):
    sent = []
    for name in names:
        first, last = name.split()
        sent.append(sending.send(w.services, ALICE, Contact(first, last, f"{first}@example.org", None)))
        w.clock.advance(minutes=1)
    return sent


def test_listing_is_newest_first_and_paged_with_cursors(w):
    sent = _send_names(w, "Anne Alpha", "Anne Beta", "Anne Gamma")
    first = read_model.list_page(w.services, ALICE, None, None, 2, None)
    assert [i.id for i in first.items] == [sent[2].id, sent[1].id] and first.next_cursor
    second = read_model.list_page(w.services, ALICE, None, None, 2, first.next_cursor)
    assert [i.id for i in second.items] == [sent[0].id] and second.next_cursor is None
    with pytest.raises(InvalidCursor):
        read_model.list_page(w.services, BOB, None, None, 2, first.next_cursor)
    with pytest.raises(InvalidCursor):
        read_model.list_page(w.services, ALICE, "anne", None, 2, first.next_cursor)
    assert read_model.list_page(w.services, BOB, None, None, 10, None).items == []


def test_status_filters_read_the_status_as_true_now(w):
    old, accepted, fresh = _send_names(w, "Old One", "Accepted Two", "Fresh Three")
    patient_link.accept(w.services, token(w, accepted))
    w.clock.advance(days=14, minutes=-1, seconds=-30)  # `old` is past its expiry, `fresh` is not

    def ids(status):
        return [i.id for i in read_model.list_page(w.services, ALICE, None, status, 10, None).items]

    assert ids("expired") == [old.id]
    assert ids("pending") == [fresh.id]
    assert ids("accepted") == [accepted.id]


def test_search_matches_every_word_and_keeps_the_status_filter(w):
    helene, helena, marc = _send_names(w, "Hélène Dupont", "Helena Durand", "Marc Dupont")
    patient_link.accept(w.services, token(w, helena))

    def found(q, status=None):
        return [i.id for i in read_model.list_page(w.services, ALICE, q, status, 10, None).items]

    assert found("hel") == [helena.id, helene.id]
    assert found("hel dup") == [helene.id]
    assert found("dupont", "pending") == [marc.id, helene.id]
    assert found("hel", "accepted") == [helena.id]
    assert found("hel", "expired") == []
    assert found("-") == [] and found("zz") == []
    assert found("hel", None) == found("HEL")


def test_search_rechecks_each_invitation_it_reads(w):
    """Defence in depth: entries the index should not hold never reach the answer."""
    mine, theirs = _send_names(w, "Anne Alpha", "Anne Beta")
    gone = _send_names(w, "Anne Gamma")[0]
    w.store.invitations[theirs.id] = type(theirs)(**{**theirs.__dict__, "clinician_id": BOB.id})
    managing.delete(w.services, ALICE, gone.id)
    leaky = w.services.queries
    everything = {i.id: "9999" for i in (mine, theirs, gone)}
    leaky.search_names = lambda clinician_id, prefixes: everything  # type: ignore[method-assign]
    leaky.get_invitations = lambda ids: [w.store.invitations[i] for i in ids]  # type: ignore[method-assign]
    assert [i.id for i in read_model.list_page(w.services, ALICE, "anne", None, 10, None).items] == [mine.id]


def test_links_are_made_from_the_configured_base_url(w):
    inv = sending.send(w.services, ALICE, HELENE)
    assert w.services.links.url(inv.id, inv.link_version).startswith(f"{BASE_URL}/i/")


def test_the_clock_is_the_services(w):
    inv = sending.send(w.services, ALICE, HELENE)
    assert inv.sent_at == w.clock.now() and inv.expires_at == w.clock.now() + timedelta(days=14)
