"""The rules, in microseconds: statuses, the 14 days, who may do what, the send limit."""

from dataclasses import replace
from datetime import timedelta

import pytest

from invitations import domain
from invitations.clock import FrozenClock
from invitations.domain import Contact, Correction, Rules
from invitations.errors import Invalid, InvitationAccepted, LinkExpired, LinkGone, NotFound, TooManySends

RULES = Rules(validity=timedelta(days=14), max_sends_per_day=5)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


def invite(clock: FrozenClock, email: str | None = "p@example.org", phone: str | None = None) -> domain.Invitation:
    return domain.create_invitation(Contact("Jeanne", "Rivière", email, phone), "clin-1", "Dr A", clock.now(), RULES)


def test_pending_until_the_last_instant_then_expired(clock):
    inv = invite(clock)
    assert inv.status_at(clock.now() + timedelta(days=14) - timedelta(milliseconds=1)) == "pending"
    assert inv.status_at(clock.now() + timedelta(days=14)) == "expired"


def test_channel_is_email_whenever_an_address_is_known(clock):
    assert invite(clock, email="p@example.org", phone="+33612345678").channel == "email"
    assert invite(clock, email=None, phone="+33612345678").channel == "sms"


def test_ids_are_128_random_bits(clock):
    ids = {invite(clock).id for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 32 for i in ids)


def test_another_clinicians_invitation_is_not_found(clock):
    inv = invite(clock)
    assert domain.ensure_visible(inv, "clin-1") is inv
    with pytest.raises(NotFound):
        domain.ensure_visible(inv, "clin-2")
    with pytest.raises(NotFound):
        domain.ensure_visible(domain.delete(inv, clock.now()), "clin-1")


def test_correcting_a_contact_replaces_the_link_but_a_name_does_not(clock):
    inv = invite(clock)
    renamed = domain.correct(inv, Correction({"first_name": "Jeane"}), clock.now())
    assert renamed.link_version == inv.link_version and renamed.first_name == "Jeane"
    moved = domain.correct(inv, Correction({"email": "new@example.org"}), clock.now())
    assert moved.link_version == inv.link_version + 1
    assert moved.delivery.status == "not_sent"


def test_a_correction_cannot_remove_the_last_contact(clock):
    with pytest.raises(Invalid):
        domain.correct(invite(clock), Correction({"email": None}), clock.now())


def test_an_accepted_invitation_cannot_be_corrected_resent_or_deleted(clock):
    accepted, _ = domain.accept(invite(clock), clock.now())
    with pytest.raises(InvitationAccepted):
        domain.correct(accepted, Correction({"first_name": "X"}), clock.now())
    with pytest.raises(InvitationAccepted):
        domain.resend(accepted, clock.now(), RULES)
    with pytest.raises(InvitationAccepted):
        domain.delete(accepted, clock.now())


def test_resend_gives_a_new_link_and_the_full_window_again(clock):
    inv = invite(clock)
    clock.advance(days=20)
    assert inv.status_at(clock.now()) == "expired"
    again = domain.resend(inv, clock.now(), RULES)
    assert again.status_at(clock.now()) == "pending"
    assert again.expires_at == clock.now() + timedelta(days=14)
    assert (again.link_version, again.send_count) == (inv.link_version + 1, 2)


def test_the_sixth_send_in_24_hours_is_refused_with_the_wait(clock):
    inv = invite(clock)  # the first send counts
    for _ in range(4):
        clock.advance(hours=1)
        inv = domain.resend(inv, clock.now(), RULES)
    clock.advance(hours=1)
    with pytest.raises(TooManySends) as refused:
        domain.resend(inv, clock.now(), RULES)
    # The first send leaves the window 24 h after it was made: 19 hours from now.
    assert refused.value.retry_after_seconds == pytest.approx(19 * 3600, abs=2)
    clock.advance(hours=19, seconds=1)
    assert domain.resend(inv, clock.now(), RULES).send_count == 6


def test_accept_creates_the_patient_from_the_invitation(clock):
    inv = invite(clock, phone="+33612345678")
    accepted, patient = domain.accept(inv, clock.now())
    assert accepted.stored_status == "accepted" and accepted.patient_id == patient.id
    assert (patient.first_name, patient.email, patient.phone) == ("Jeanne", "p@example.org", "+33612345678")
    assert patient.thread == "active"


def test_an_expired_or_deleted_link_cannot_be_accepted(clock):
    inv = invite(clock)
    with pytest.raises(LinkGone):
        domain.accept(domain.delete(inv, clock.now()), clock.now())
    with pytest.raises(LinkExpired):
        domain.accept(inv, clock.now() + timedelta(days=14))


def test_expire_only_touches_pending_ones(clock):
    inv = invite(clock)
    assert domain.expire(inv).stored_status == "expired"
    accepted, _ = domain.accept(inv, clock.now())
    assert domain.expire(accepted) is None
    assert domain.expire(replace(inv, stored_status="expired")) is None


def test_leaving_twice_changes_nothing(clock):
    _, patient = domain.accept(invite(clock), clock.now())
    left = domain.leave_thread(patient, clock.now())
    assert left is not None and left.thread == "left"
    assert domain.leave_thread(left, clock.now()) is None
