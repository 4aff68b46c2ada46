"""Every rule of the product, each in one place: how long a link lives, how often an invitation
may be sent, and who may see, correct, resend, delete, accept or leave what.

The numbers here are the defaults; a deployment may change the validity and the send limit
(template parameters -> typed settings -> `Rules`), never the meaning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from invitations.domain.errors import Invalid, InvitationAccepted, LinkExpired, LinkGone, NotFound, TooManySends

if TYPE_CHECKING:
    from invitations.domain.invitation import Invitation
    from invitations.domain.patient import Patient

VALIDITY_DAYS = 14  # seed point 12: "valid for 14 days from its sending"
SEND_WINDOW = timedelta(hours=24)  # the window the send limit counts in
MAX_SENDS_PER_WINDOW = 5  # sends of one invitation per window: protects the patient from a flood


@dataclass(frozen=True)
class Rules:
    validity: timedelta = timedelta(days=VALIDITY_DAYS)
    max_sends_per_window: int = MAX_SENDS_PER_WINDOW

    def expiry_of(self, sent_at: datetime) -> datetime:
        """A link sent at `sent_at` works until this instant, excluded."""
        return sent_at + self.validity

    def check_send_allowed(self, previous_sends: tuple[datetime, ...], now: datetime) -> tuple[datetime, ...]:
        """The sends still inside the window, if one more is allowed now; else TooManySends with
        the seconds until the oldest one leaves the window."""
        recent = tuple(t for t in previous_sends if now - t < SEND_WINDOW)
        if len(recent) >= self.max_sends_per_window:
            retry_after = min(recent) + SEND_WINDOW - now
            raise TooManySends(max(1, int(retry_after.total_seconds()) + 1))
        return recent


def is_past_expiry(expires_at: datetime, now: datetime) -> bool:
    """The one expiry boundary: at `expires_at` exactly the link no longer works."""
    return now >= expires_at


def needs_a_contact(email: str | None, phone: str | None) -> None:
    """An invitation, like a patient record, keeps an email address or a phone number."""
    if not email and not phone:
        reason = "give an email address or a phone number"
        raise Invalid(fields={"email": reason, "phone": reason})


# -- who may do what --------------------------------------------------------------------------


def visible_to(invitation: Invitation | None, clinician_id: str) -> Invitation:
    """A clinician sees only their own invitations; another's, or a deleted one, does not exist."""
    if invitation is None or invitation.clinician_id != clinician_id or invitation.stored_status == "deleted":
        raise NotFound()
    return invitation


def may_correct(invitation: Invitation) -> None:
    """Details may be corrected while not accepted (then they belong to the patient record)."""
    if invitation.stored_status == "accepted":
        raise InvitationAccepted()


def may_resend(invitation: Invitation) -> None:
    """Pending or expired may be resent; an accepted one has nothing left to send."""
    if invitation.stored_status == "accepted":
        raise InvitationAccepted()


def may_delete(invitation: Invitation) -> None:
    """Pending or expired may be deleted; once accepted, the clinician leaves the thread instead."""
    if invitation.stored_status == "accepted":
        raise InvitationAccepted(
            "This invitation has been accepted: it cannot be deleted; leave the patient thread instead."
        )


def link_usable(invitation: Invitation, now: datetime) -> Invitation:
    """What a patient's link may do now: nothing when deleted (404), nothing when expired (410)."""
    if invitation.stored_status == "deleted":
        raise LinkGone()
    if invitation.status_at(now) == "expired":
        raise LinkExpired(invitation.clinician_name, invitation.locale)
    return invitation


def own_patient(patient: Patient | None, clinician_id: str) -> Patient:
    """A clinician sees only the patient records their own invitations created."""
    if patient is None or patient.clinician_id != clinician_id:
        raise NotFound()
    return patient
