"""The rules, in plain Python: statuses, the validity window, who may do what, the send limit.

Transitions are pure: they take an entity and a moment and return the next entity (or raise
a domain error). Storage makes each one a conditional write on the entity's revision.
"""

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from invitations.errors import Invalid, InvitationAccepted, LinkExpired, LinkGone, NotFound, TooManySends
from invitations.models import Channel, Status

StoredStatus = Literal["pending", "accepted", "expired", "deleted"]
SEND_WINDOW = timedelta(hours=24)


def new_id() -> str:
    """128 random bits, hex: opaque and unguessable (the link token embeds it)."""
    return secrets.token_hex(16)


def is_id(text: str) -> bool:
    """The shape of every id `new_id` makes: anything else cannot name an invitation or patient."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class DeliveryOutcome:
    status: Literal["queued", "sent", "failed", "not_sent"]
    at: datetime
    detail: str | None = None


@dataclass(frozen=True)
class Invitation:
    id: str
    clinician_id: str
    clinician_name: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    locale: str
    stored_status: StoredStatus
    link_version: int
    created_at: datetime
    sent_at: datetime
    expires_at: datetime
    delivery: DeliveryOutcome
    send_count: int = 1
    recent_sends: tuple[datetime, ...] = ()
    accepted_at: datetime | None = None
    patient_id: str | None = None
    deleted_at: datetime | None = None
    rev: int = 0

    @property
    def channel(self) -> Channel:
        """Email whenever an address is known, else SMS (seed point 6)."""
        return "email" if self.email else "sms"

    def status_at(self, now: datetime) -> Status:
        """The status as true at `now`: a pending invitation past its expiry reads expired."""
        if self.stored_status == "deleted":
            raise NotFound()
        if self.stored_status == "pending" and now >= self.expires_at:
            return "expired"
        return self.stored_status

    def is_overdue(self, now: datetime) -> bool:
        return self.stored_status == "pending" and now >= self.expires_at


@dataclass(frozen=True)
class Patient:
    id: str
    clinician_id: str
    invitation_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime
    thread: Literal["active", "left"] = "active"
    left_at: datetime | None = None
    rev: int = 0


@dataclass(frozen=True)
class Contact:
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    locale: str = "fr"


@dataclass(frozen=True)
class Rules:
    validity: timedelta = timedelta(days=14)
    max_sends_per_day: int = 5


@dataclass(frozen=True)
class Correction:
    """Fields to change; absent keys are left alone (an explicit None clears a contact)."""

    changes: dict[str, str | None] = field(default_factory=dict)


def create_invitation(
    contact: Contact, clinician_id: str, clinician_name: str, now: datetime, rules: Rules
) -> Invitation:
    return Invitation(
        id=new_id(),
        clinician_id=clinician_id,
        clinician_name=clinician_name,
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        phone=contact.phone,
        locale=contact.locale,
        stored_status="pending",
        link_version=1,
        created_at=now,
        sent_at=now,
        expires_at=now + rules.validity,
        delivery=DeliveryOutcome("queued", now),
        send_count=1,
        recent_sends=(now,),
    )


def ensure_visible(invitation: Invitation | None, clinician_id: str) -> Invitation:
    """Another clinician's invitation, or a deleted one, is exactly as if it did not exist."""
    if invitation is None or invitation.clinician_id != clinician_id or invitation.stored_status == "deleted":
        raise NotFound()
    return invitation


def _ensure_not_accepted(invitation: Invitation, message: str | None = None) -> None:
    if invitation.stored_status == "accepted":
        raise InvitationAccepted(message)


def correct(invitation: Invitation, correction: Correction, now: datetime) -> Invitation:
    """Fix names or contact while not accepted; a new email or phone kills the old link at once."""
    _ensure_not_accepted(invitation)
    updated = replace(invitation, **correction.changes)  # type: ignore[arg-type]
    if not updated.email and not updated.phone:
        raise Invalid(
            fields={
                "email": "give an email address or a phone number",
                "phone": "give an email address or a phone number",
            }
        )
    contact_changed = (updated.email, updated.phone) != (invitation.email, invitation.phone)
    if contact_changed:
        # Nothing is sent until a resend; the old link must not reach the old address's owner.
        updated = replace(updated, link_version=invitation.link_version + 1, delivery=DeliveryOutcome("not_sent", now))
    return updated


def resend(invitation: Invitation, now: datetime, rules: Rules) -> Invitation:
    """A new link valid for the full window; at most N sends per 24 hours protect the patient."""
    _ensure_not_accepted(invitation)
    recent = tuple(t for t in invitation.recent_sends if now - t < SEND_WINDOW)
    if len(recent) >= rules.max_sends_per_day:
        retry_after = min(recent) + SEND_WINDOW - now
        raise TooManySends(max(1, int(retry_after.total_seconds()) + 1))
    return replace(
        invitation,
        stored_status="pending",
        link_version=invitation.link_version + 1,
        sent_at=now,
        expires_at=now + rules.validity,
        delivery=DeliveryOutcome("queued", now),
        send_count=invitation.send_count + 1,
        recent_sends=(*recent, now),
    )


def delete(invitation: Invitation, now: datetime) -> Invitation:
    _ensure_not_accepted(
        invitation, "This invitation has been accepted: it cannot be deleted; leave the patient thread instead."
    )
    return replace(invitation, stored_status="deleted", deleted_at=now)


def ensure_link_usable(invitation: Invitation, now: datetime) -> Invitation:
    """What a patient's link may do now: 404 when gone, 410 when expired."""
    if invitation.stored_status == "deleted":
        raise LinkGone()
    if invitation.status_at(now) == "expired":
        raise LinkExpired(invitation.clinician_name, invitation.locale)
    return invitation


def accept(invitation: Invitation, now: datetime) -> tuple[Invitation, Patient]:
    """Pending -> accepted, creating the patient record from the invitation's details."""
    ensure_link_usable(invitation, now)
    patient = Patient(
        id=new_id(),
        clinician_id=invitation.clinician_id,
        invitation_id=invitation.id,
        first_name=invitation.first_name,
        last_name=invitation.last_name,
        email=invitation.email,
        phone=invitation.phone,
        created_at=now,
        updated_at=now,
    )
    accepted = replace(invitation, stored_status="accepted", accepted_at=now, patient_id=patient.id)
    return accepted, patient


def expire(invitation: Invitation) -> Invitation | None:
    """The scheduled job's transition; None when there is nothing to do any more."""
    if invitation.stored_status != "pending":
        return None
    return replace(invitation, stored_status="expired")


def ensure_own_patient(patient: Patient | None, clinician_id: str) -> Patient:
    if patient is None or patient.clinician_id != clinician_id:
        raise NotFound()
    return patient


def correct_patient(patient: Patient, changes: dict[str, str | None], now: datetime) -> Patient:
    updated = replace(patient, **changes, updated_at=now)  # type: ignore[arg-type]
    if not updated.email and not updated.phone:
        raise Invalid(
            fields={
                "email": "give an email address or a phone number",
                "phone": "give an email address or a phone number",
            }
        )
    return updated


def leave_thread(patient: Patient, now: datetime) -> Patient | None:
    """None when already left: leaving twice changes nothing."""
    if patient.thread == "left":
        return None
    return replace(patient, thread="left", left_at=now, updated_at=now)
