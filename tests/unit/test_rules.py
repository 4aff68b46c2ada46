"""The rules, in microseconds: statuses, the 14 days, who may do what, the send limit. The
numbers the product promises are checked as numbers here: a mutation tool cannot change a
module constant, so these tests fail when one changes."""

from dataclasses import replace
from datetime import timedelta

import pytest

from invitations.domain import invitation as invitations
from invitations.domain import patient as patients
from invitations.domain import rules
from invitations.domain.errors import Invalid, InvitationAccepted, LinkExpired, LinkGone, NotFound, TooManySends
from invitations.domain.ids import is_id, new_id
from invitations.domain.invitation import Contact, DeliveryOutcome
from invitations.domain.rules import Rules
from invitations.settings import Settings
from local.template import load_template
from tests.fakes import FrozenClock

RULES = Rules()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def invite(clock: FrozenClock, email: str | None = "p@example.org", phone: str | None = None) -> invitations.Invitation:
    return invitations.create(Contact("Jeanne", "Rivière", email, phone), "clin-1", "Dr A", clock.now(), RULES)


def accepted(inv: invitations.Invitation, clock: FrozenClock) -> tuple[invitations.Invitation, patients.Patient]:
    patient = patients.from_invitation(inv, clock.now())
    return invitations.accept(inv, patient.id, clock.now()), patient


def test_the_product_promises_14_days_and_5_sends_a_day():
    assert rules.VALIDITY_DAYS == 14
    assert Rules().validity == timedelta(days=14)
    assert timedelta(hours=24) == rules.SEND_WINDOW
    assert rules.MAX_SENDS_PER_WINDOW == Rules().max_sends_per_window == 5


def test_deployments_default_to_the_domains_numbers():
    defaults = {"TABLE_NAME": "t", "EVENT_BUS_NAME": "b", "PUBLIC_BASE_URL": "https://x", "LINK_SECRET_ID": "s"}
    assert Settings.model_validate(defaults).rules() == Rules()
    assert load_template()["Parameters"]["ValidityDays"]["Default"] == rules.VALIDITY_DAYS
    configured = Settings.model_validate({**defaults, "VALIDITY_DAYS": "3", "MAX_SENDS_PER_DAY": "2"}).rules()
    assert configured == Rules(validity=timedelta(days=3), max_sends_per_window=2)


def test_pending_until_the_last_instant_then_expired(clock):
    inv = invite(clock)
    assert inv.expires_at == clock.now() + timedelta(days=14)
    assert inv.status_at(clock.now() + timedelta(days=14) - timedelta(milliseconds=1)) == "pending"
    assert inv.status_at(clock.now() + timedelta(days=14)) == "expired"
    assert not inv.is_overdue(clock.now() + timedelta(days=14) - timedelta(milliseconds=1))
    assert inv.is_overdue(clock.now() + timedelta(days=14))


def test_a_deleted_invitation_has_no_status(clock):
    with pytest.raises(NotFound):
        invitations.delete(invite(clock), clock.now()).status_at(clock.now())


def test_a_new_invitation_is_queued_once_sent_now(clock):
    inv = invite(clock)
    assert (inv.stored_status, inv.link_version, inv.send_count) == ("pending", 1, 1)
    assert inv.sent_at == inv.created_at == clock.now() and inv.recent_sends == (clock.now(),)
    assert inv.delivery == DeliveryOutcome("queued", clock.now())
    assert (inv.clinician_id, inv.clinician_name, inv.locale) == ("clin-1", "Dr A", "fr")


def test_channel_is_email_whenever_an_address_is_known(clock):
    assert invite(clock, email="p@example.org", phone="+33612345678").channel == "email"
    assert invite(clock, email=None, phone="+33612345678").channel == "sms"


def test_an_invitation_needs_a_contact(clock):
    with pytest.raises(Invalid) as refused:
        invite(clock, email=None, phone=None)
    assert set(refused.value.fields or {}) == {"email", "phone"}


def test_ids_are_128_random_bits():
    ids = {new_id() for _ in range(100)}
    assert len(ids) == 100 and all(is_id(i) for i in ids)
    assert not is_id("A" * 32) and not is_id("a" * 31) and not is_id("g" * 32) and is_id("a" * 32)


def test_another_clinicians_invitation_is_not_found(clock):
    inv = invite(clock)
    assert rules.visible_to(inv, "clin-1") is inv
    with pytest.raises(NotFound):
        rules.visible_to(inv, "clin-2")
    with pytest.raises(NotFound):
        rules.visible_to(None, "clin-1")
    with pytest.raises(NotFound):
        rules.visible_to(invitations.delete(inv, clock.now()), "clin-1")


def test_another_clinicians_patient_is_not_found(clock):
    _, patient = accepted(invite(clock), clock)
    assert rules.own_patient(patient, "clin-1") is patient
    with pytest.raises(NotFound):
        rules.own_patient(patient, "clin-2")
    with pytest.raises(NotFound):
        rules.own_patient(None, "clin-1")


def test_correcting_a_contact_replaces_the_link_but_a_name_does_not(clock):
    inv = invite(clock)
    renamed = invitations.correct(inv, {"first_name": "Jeane"}, clock.now())
    assert renamed.link_version == inv.link_version and renamed.first_name == "Jeane"
    assert renamed.delivery == inv.delivery
    clock.advance(minutes=5)
    moved = invitations.correct(inv, {"email": "new@example.org"}, clock.now())
    assert moved.link_version == inv.link_version + 1
    assert moved.delivery == DeliveryOutcome("not_sent", clock.now())
    by_phone = invitations.correct(inv, {"phone": "+33612345678"}, clock.now())
    assert by_phone.link_version == inv.link_version + 1


def test_a_correction_cannot_remove_the_last_contact(clock):
    with pytest.raises(Invalid):
        invitations.correct(invite(clock), {"email": None}, clock.now())


def test_an_accepted_invitation_cannot_be_corrected_resent_or_deleted(clock):
    done, _ = accepted(invite(clock), clock)
    with pytest.raises(InvitationAccepted):
        invitations.correct(done, {"first_name": "X"}, clock.now())
    with pytest.raises(InvitationAccepted):
        invitations.resend(done, clock.now(), RULES)
    with pytest.raises(InvitationAccepted) as refused:
        invitations.delete(done, clock.now())
    assert "leave the patient thread" in refused.value.message


def test_an_expired_invitation_may_be_corrected_resent_and_deleted(clock):
    inv = invitations.expire(invite(clock), clock.advance(days=15))
    assert inv is not None
    assert invitations.correct(inv, {"first_name": "X"}, clock.now()).first_name == "X"
    assert invitations.resend(inv, clock.now(), RULES).stored_status == "pending"
    assert invitations.delete(inv, clock.now()).stored_status == "deleted"


def test_resend_gives_a_new_link_and_the_full_window_again(clock):
    inv = invite(clock)
    clock.advance(days=20)
    assert inv.status_at(clock.now()) == "expired"
    again = invitations.resend(inv, clock.now(), RULES)
    assert again.status_at(clock.now()) == "pending"
    assert again.sent_at == clock.now() and again.expires_at == clock.now() + timedelta(days=14)
    assert (again.link_version, again.send_count) == (inv.link_version + 1, 2)
    assert again.delivery == DeliveryOutcome("queued", clock.now())
    assert again.recent_sends == (clock.now(),)  # the first send left the window


def test_the_sixth_send_in_24_hours_is_refused_with_the_wait(clock):
    inv = invite(clock)  # the first send counts
    for _ in range(4):
        clock.advance(hours=1)
        inv = invitations.resend(inv, clock.now(), RULES)
    clock.advance(hours=1)
    with pytest.raises(TooManySends) as refused:
        invitations.resend(inv, clock.now(), RULES)
    # The first send leaves the window 24 h after it was made: 19 hours from now (and a second).
    assert refused.value.retry_after_seconds == 19 * 3600 + 1
    clock.advance(hours=19, milliseconds=-1)
    with pytest.raises(TooManySends) as still:
        invitations.resend(inv, clock.now(), RULES)
    assert still.value.retry_after_seconds == 1  # never 0: a client must wait
    clock.advance(milliseconds=1)
    assert invitations.resend(inv, clock.now(), RULES).send_count == 6


def test_the_send_limit_follows_the_rules_given(clock):
    tight = Rules(max_sends_per_window=1)
    with pytest.raises(TooManySends):
        invitations.resend(invite(clock), clock.now(), tight)


def test_a_delivery_outcome_is_recorded_for_the_current_link_only(clock):
    inv = invite(clock)
    outcome = DeliveryOutcome("sent", clock.now())
    assert invitations.record_delivery(inv, inv.link_version, outcome).delivery == outcome
    newer = invitations.resend(inv, clock.advance(minutes=1), RULES)
    assert invitations.record_delivery(newer, inv.link_version, outcome) is None
    assert invitations.record_delivery(invitations.delete(inv, clock.now()), inv.link_version, outcome) is None


def test_accept_names_the_patient_created_from_the_invitation(clock):
    inv = invite(clock, phone="+33612345678")
    done, patient = accepted(inv, clock)
    assert done.stored_status == "accepted" and done.patient_id == patient.id and done.accepted_at == clock.now()
    assert (patient.first_name, patient.last_name) == ("Jeanne", "Rivière")
    assert (patient.email, patient.phone) == ("p@example.org", "+33612345678")
    assert (patient.clinician_id, patient.invitation_id, patient.thread) == ("clin-1", inv.id, "active")
    assert patient.created_at == patient.updated_at == clock.now()


def test_an_expired_or_deleted_link_cannot_be_accepted(clock):
    inv = invite(clock)
    with pytest.raises(LinkGone):
        invitations.accept(invitations.delete(inv, clock.now()), "p", clock.now())
    with pytest.raises(LinkExpired) as expired:
        invitations.accept(inv, "p", clock.now() + timedelta(days=14))
    assert (expired.value.clinician_name, expired.value.locale) == ("Dr A", "fr")


def test_expire_only_touches_overdue_pending_ones(clock):
    inv = invite(clock)
    assert invitations.expire(inv, clock.now()) is None  # not due yet
    later = clock.now() + timedelta(days=14)
    assert invitations.expire(inv, later).stored_status == "expired"
    done, _ = accepted(inv, clock)
    assert invitations.expire(done, later) is None
    assert invitations.expire(replace(inv, stored_status="expired"), later) is None


def test_a_patient_record_is_corrected_with_its_update_time(clock):
    _, patient = accepted(invite(clock), clock)
    clock.advance(hours=2)
    corrected = patients.correct(patient, {"phone": "+33612345678", "email": None}, clock.now())
    assert corrected.updated_at == clock.now() and corrected.phone == "+33612345678"
    with pytest.raises(Invalid):
        patients.correct(patient, {"email": None}, clock.now())


def test_leaving_twice_changes_nothing(clock):
    _, patient = accepted(invite(clock), clock)
    clock.advance(hours=1)
    left = patients.leave_thread(patient, clock.now())
    assert left is not None and left.thread == "left"
    assert left.left_at == left.updated_at == clock.now()
    assert patients.leave_thread(left, clock.now()) is None
