"""Delivery reports on the fakes: late, out of order and twice; about older links; the SMS
fallback once per link; suppression of a bounced address."""

from datetime import timedelta

import pytest

from invitations.domain.delivery import Report
from invitations.domain.errors import AddressUndeliverable
from invitations.domain.invitation import Contact
from invitations.use_cases import managing, reports, sending
from invitations.use_cases.base import Clinician
from tests.fakes import World, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")
EMAIL_ONLY = Contact("Jeanne", "Rivière", "jeanne@example.org", None)
BOTH = Contact("Jeanne", "Rivière", "jeanne@example.org", "+33612345678")


@pytest.fixture
def w() -> World:
    return world()


def sent(w: World, contact: Contact = EMAIL_ONLY):
    return w.dispatched(ALICE, contact)


def report(w: World, inv, status, n: int = 1, message_id: str | None = None, detail: str | None = None) -> bool:
    at = w.clock.advance(seconds=1)
    return reports.record(w.services, Report(f"r{n}", message_id or inv.delivery.message_id, status, at, detail))


def test_the_message_id_and_channel_are_kept_at_sending(w):
    inv = sent(w)
    assert inv.delivery.message_id == w.messenger.emails[0]["id"] and inv.delivery.channel == "email"
    assert w.messenger.emails[0]["invitation_id"] == inv.id and w.messenger.emails[0]["link_version"] == "1"
    assert w.store.messages[inv.delivery.message_id].invitation_id == inv.id


def test_status_moves_only_forward_in_certainty(w):
    inv = sent(w)
    assert report(w, inv, "bounced", 1)
    assert report(w, inv, "delivered", 2)  # late: kept in the history, changes nothing
    stored = w.store.invitations[inv.id]
    assert stored.delivery.status == "bounced"
    assert [h.type for h in w.store.history][-2:] == ["bounced", "delivered"]


def test_delivered_then_complained(w):
    inv = sent(w)
    report(w, inv, "delivered", 1)
    report(w, inv, "complained", 2)
    assert w.store.invitations[inv.id].delivery.status == "complained"
    w.run_outbox()
    assert w.publisher.types() == ["InvitationSent", "InvitationDelivered", "InvitationDeliveryFailed"]


def test_a_duplicate_changes_nothing(w):
    inv = sent(w)
    assert report(w, inv, "delivered", 7)
    history = list(w.store.history)
    assert not report(w, inv, "delivered", 7)
    assert w.store.history == history


def test_only_a_retry_reads_whether_the_report_was_seen(w, monkeypatch):
    """A new report costs no read of its own id: its conditional write refuses a duplicate."""
    from tests import fakes

    reads = []
    seen = fakes._FakeReports.seen
    monkeypatch.setattr(fakes._FakeReports, "seen", lambda self, *key: reads.append(key) or seen(self, *key))
    inv = sent(w)
    assert report(w, inv, "delivered", 7) and reads == []
    assert not report(w, inv, "delivered", 7) and reads == [(inv.id, "r7")]


def test_a_soft_bounce_keeps_sent_with_a_word_on_why(w):
    inv = sent(w)
    report(w, inv, "sent", 1, detail="soft bounce: MailboxFull")
    stored = w.store.invitations[inv.id]
    assert stored.delivery.status == "sent" and stored.delivery.detail == "soft bounce: MailboxFull"
    assert w.store.history[-1].type == "delivery_delayed"


def test_a_report_about_an_older_link_goes_to_the_history_only(w):
    inv = sent(w)
    old_message = inv.delivery.message_id
    sending.resend(w.services, ALICE, inv.id)
    w.run_outbox()
    report(w, inv, "bounced", 1, message_id=old_message)
    stored = w.store.invitations[inv.id]
    assert stored.delivery.status == "sent" and not stored.email_suppressed
    assert w.store.history[-1].type == "bounced"


def test_an_unknown_message_is_ignored(w):
    sent(w)
    assert not reports.record(w.services, Report("r1", "someone-elses", "delivered", w.clock.now()))


def test_a_bounce_with_a_phone_falls_back_to_sms_once_with_the_same_link(w):
    inv = sent(w, BOTH)
    report(w, inv, "bounced", 1, detail="permanent bounce: NoEmail")
    w.run_outbox()
    [sms] = w.messenger.sms
    assert w.services.links.url(inv.id, inv.link_version) in sms["text"] and sms["to"] == "+33612345678"
    stored = w.store.invitations[inv.id]
    assert stored.delivery.channel == "sms" and stored.delivery.status == "sent" and stored.email_suppressed
    assert stored.link_version == inv.link_version and stored.fallback_link == inv.link_version
    # A second bounce report (another id) sends no second SMS.
    reports.record(w.services, Report("r2", inv.delivery.message_id, "bounced", w.clock.now()))
    w.run_outbox()
    assert len(w.messenger.sms) == 1
    types = [h.type for h in w.store.history]
    assert types.count("fallback_sms") == 1 and "bounced" in types


def test_a_suppressed_address_is_never_mailed_again_until_corrected(w):
    inv = sent(w, BOTH)
    report(w, inv, "bounced", 1)
    w.run_outbox()
    sending.resend(w.services, ALICE, inv.id)
    w.run_outbox()
    assert len(w.messenger.emails) == 1 and len(w.messenger.sms) == 2  # the fallback, then the resend
    managing.correct(w.services, ALICE, inv.id, {"email": "jeanne.r@example.org"})
    sending.resend(w.services, ALICE, inv.id)
    w.run_outbox()
    assert w.messenger.emails[-1]["to"] == "jeanne.r@example.org"


def test_a_bounce_without_a_phone_asks_for_a_correction(w):
    inv = sent(w)
    report(w, inv, "bounced", 1)
    w.run_outbox()
    assert not w.messenger.sms
    with pytest.raises(AddressUndeliverable):
        sending.resend(w.services, ALICE, inv.id)
    managing.correct(w.services, ALICE, inv.id, {"email": "ok@example.org"})
    assert sending.resend(w.services, ALICE, inv.id).send_count == 2


def test_no_fallback_for_an_accepted_or_expired_invitation(w):
    inv = sent(w, BOTH)
    w.clock.advance(days=15)
    report(w, inv, "bounced", 1)
    w.run_outbox()
    assert not w.messenger.sms


def test_an_sms_failure_is_failed(w):
    inv = sent(w, Contact("Marc", "Petit", None, "+33612345678"))
    report(w, inv, "failed", 1, detail="Phone is currently unreachable")
    stored = w.store.invitations[inv.id]
    assert stored.delivery.status == "failed" and stored.delivery.channel == "sms"
    assert w.counter.counts["DeliveryFailures"] == 1


def test_reports_hold_no_patient_data(w):
    inv = sent(w, BOTH)
    report(w, inv, "bounced", 1, detail="permanent bounce: General")
    w.run_outbox()
    text = str(w.store.history) + str(w.publisher.published)
    assert "jeanne" not in text.lower() and "33612345678" not in text and "/i/" not in text


def test_reports_arrive_long_after(w):
    inv = sent(w, Contact("Marc", "Petit", None, "+33612345678"))
    w.clock.advance(hours=71)  # SMS receipts may take 72 hours
    assert report(w, inv, "delivered", 1)
    assert w.store.invitations[inv.id].delivery.status == "delivered"
    assert timedelta(hours=71) < w.clock.now() - inv.sent_at
