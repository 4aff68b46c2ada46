"""Delivery reports at their edges: the order of certainty between every pair of statuses, a
second report of the same status, what suppresses an address, and each condition of the SMS
fallback on its own — on the domain's rules (delivery.py) and through the use case."""

from dataclasses import replace
from datetime import timedelta

import pytest

from invitations.domain import delivery
from invitations.domain.delivery import Report
from invitations.domain.invitation import Contact
from invitations.use_cases import patient_link, reports
from invitations.use_cases.base import Clinician
from tests.fakes import World, as_read, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")
EMAIL_ONLY = Contact("Jeanne", "Rivière", "jeanne@example.org", None)
BOTH = Contact("Jeanne", "Rivière", "jeanne@example.org", "+33612345678")
FINAL = ("bounced", "complained", "failed")


@pytest.fixture
def w() -> World:
    return world()


def sent(w: World, contact: Contact = EMAIL_ONLY):
    return w.dispatched(ALICE, contact)


def report(w: World, inv, status: str, n: int, detail: str | None = None) -> bool:
    at = w.clock.advance(seconds=1)
    return reports.record(w.services, Report(f"r{n}", inv.delivery.message_id, as_read(status), at, detail))


@pytest.mark.parametrize("status", FINAL)
def test_delivered_then_a_final_failure_moves_to_it(w, status):
    inv = sent(w)
    report(w, inv, "delivered", 1)
    report(w, inv, status, 2)
    assert w.store.invitations[inv.id].delivery.status == status


@pytest.mark.parametrize("first", FINAL)
@pytest.mark.parametrize("then", [*FINAL, "delivered", "sent"])
def test_after_a_final_failure_nothing_moves(w, first, then):
    inv = sent(w)
    report(w, inv, first, 1, detail="first")
    at = w.store.invitations[inv.id].delivery.at
    report(w, inv, then, 2, detail="then")
    stored = w.store.invitations[inv.id].delivery
    assert (stored.status, stored.detail, stored.at) == (first, "first", at)


def test_a_second_delivered_report_changes_nothing(w):
    inv = sent(w)
    report(w, inv, "delivered", 1)
    at = w.store.invitations[inv.id].delivery.at
    report(w, inv, "delivered", 2, detail="again")
    stored = w.store.invitations[inv.id].delivery
    assert (stored.status, stored.at, stored.detail) == ("delivered", at, None)


def test_a_delay_report_keeps_sent_and_says_why_once(w):
    inv = sent(w)
    report(w, inv, "sent", 1, detail="soft bounce")
    at = w.store.invitations[inv.id].delivery.at
    report(w, inv, "sent", 2, detail=as_read("soft bounce"))  # the same word: nothing new
    stored = w.store.invitations[inv.id].delivery
    assert (stored.status, stored.detail, stored.at) == ("sent", "soft bounce", at)
    assert [h.type for h in w.store.history][-2:] == ["delivery_delayed", "delivery_delayed"]
    w.run_outbox()
    assert w.publisher.types() == ["InvitationSent"]  # a delay is no event
    report(w, inv, "delivered", 3)
    assert w.store.invitations[inv.id].delivery.status == "delivered"
    report(w, inv, "sent", 4, detail="late delay")
    assert w.store.invitations[inv.id].delivery.detail is None  # delivered stays as it was


@pytest.mark.parametrize("status, suppressed", [("bounced", True), ("complained", True), ("failed", False)])
def test_only_a_bounce_or_a_complaint_about_an_email_suppresses_it(w, status, suppressed):
    inv = sent(w)
    report(w, inv, status, 1)
    assert w.store.invitations[inv.id].email_suppressed is suppressed


def test_an_sms_failure_suppresses_no_address(w):
    inv = sent(w, BOTH)
    as_sms = replace(inv.delivery, channel=as_read("sms"))
    for status in FINAL:
        applied = delivery.apply(replace(inv, delivery=as_sms), Report("r", as_sms.message_id, status, inv.sent_at))
        assert applied is not None and applied.delivery.status == status and not applied.email_suppressed
    email = replace(inv.delivery, channel=as_read("email"))
    applied = delivery.apply(replace(inv, delivery=email), Report("r", email.message_id, "bounced", inv.sent_at))
    assert applied is not None and applied.email_suppressed


def test_only_a_bounce_falls_back_to_sms(w):
    inv = sent(w, BOTH)
    for n, status in enumerate(("complained", "failed"), 1):
        report(w, inv, status, n)
    w.run_outbox()
    assert not w.messenger.sms and w.store.invitations[inv.id].fallback_link != inv.link_version


def test_no_fallback_for_an_accepted_invitation(w):
    inv = sent(w, BOTH)
    patient_link.accept(w.services, w.services.links.url(inv.id, inv.link_version).rsplit("/i/", 1)[1])
    report(w, inv, "bounced", 1)
    w.run_outbox()
    assert not w.messenger.sms


def test_each_condition_of_the_fallback(w):
    inv = sent(w, BOTH)
    now = w.clock.now()
    bounce = Report("r", inv.delivery.message_id, as_read("bounced"), now)
    assert delivery.fallback_due(inv, bounce, now)
    assert not delivery.fallback_due(inv, replace(bounce, status="complained"), now)
    assert not delivery.fallback_due(inv, replace(bounce, message_id="older"), now)
    assert not delivery.fallback_due(replace(inv, delivery=replace(inv.delivery, channel="sms")), bounce, now)
    assert not delivery.fallback_due(replace(inv, phone=None), bounce, now)
    assert not delivery.fallback_due(replace(inv, fallback_link=inv.link_version), bounce, now)
    assert delivery.fallback_due(replace(inv, fallback_link=inv.link_version - 1), bounce, now)
    assert not delivery.fallback_due(inv, bounce, inv.expires_at)
    assert delivery.fallback_due(inv, bounce, inv.expires_at - timedelta(microseconds=1))
    current = replace(inv, delivery=replace(inv.delivery, channel=as_read("email"), message_id=as_read("m-1")))
    assert delivery.fallback_due(current, replace(bounce, message_id=as_read("m-1")), now)


def test_bounces_and_failures_are_counted_apart_once_each(w):
    inv = sent(w, BOTH)
    report(w, inv, "delivered", 1)
    assert "DeliveryBounces" not in w.counter.counts and "DeliveryFailures" not in w.counter.counts
    report(w, inv, "bounced", 2)
    assert not report(w, inv, "bounced", 2)  # the same report again
    assert w.counter.counts["DeliveryBounces"] == 1 and "DeliveryFailures" not in w.counter.counts
    other = sent(w, Contact("Marc", "Petit", "marc@example.org", None))
    report(w, other, "complained", 3)
    assert w.counter.counts == {"InvitationsSent": 2, "DeliveryBounces": 1, "DeliveryFailures": 1}


def test_a_report_without_an_invitation_goes_to_the_history_only(w):
    inv = sent(w)
    del w.store.invitations[inv.id]
    assert report(w, inv, "delivered", 1)
    note = w.store.history[-1]
    assert (note.type, note.invitation_id, note.channel, note.entry_id) == ("delivered", inv.id, "email", "r1")


def test_a_fallback_is_in_the_history_with_its_own_entry(w):
    inv = sent(w, BOTH)
    report(w, inv, "bounced", 1, detail="NoEmail")
    fallback = [h for h in w.store.history if h.type == "fallback_sms"]
    assert [(h.channel, h.entry_id, h.detail) for h in fallback] == [("sms", "r1-fb", None)]
    assert w.store.invitations[inv.id].fallback_link == inv.link_version


def test_the_fallback_and_a_delay_on_values_read_back(w):
    inv = sent(w, BOTH)
    now = w.clock.now()
    stored = replace(inv, stored_status=as_read("pending"), delivery=replace(inv.delivery, status=as_read("sent")))
    bounce = Report("r", inv.delivery.message_id, "bounced", now)
    assert delivery.fallback_due(stored, bounce, now)
    high = as_read("1000")
    assert not delivery.fallback_due(replace(stored, link_version=int(high), fallback_link=int(high)), bounce, now)
    delay = delivery.apply(stored, Report("r2", inv.delivery.message_id, "sent", now, "soft bounce"))
    assert delay is not None and delay.delivery.detail == "soft bounce" and delay.delivery.status == "sent"
