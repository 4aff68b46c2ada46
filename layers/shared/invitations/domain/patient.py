"""The patient record an acceptance creates, and what the clinician may do with it."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from invitations.domain import rules
from invitations.domain.ids import new_id
from invitations.domain.invitation import Invitation

Thread = Literal["active", "left"]


@dataclass(frozen=True)
class Patient:
    """The patient's record, created when the invitation is accepted."""

    id: str
    clinician_id: str
    invitation_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime
    thread: Thread = "active"
    left_at: datetime | None = None
    rev: int = 0


def from_invitation(invitation: Invitation, now: datetime) -> Patient:
    """The record an acceptance creates, from the invitation's details."""
    return Patient(
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


def correct(patient: Patient, changes: dict[str, str | None], now: datetime) -> Patient:
    updated = replace(patient, **changes, updated_at=now)  # type: ignore[arg-type]
    rules.needs_a_contact(updated.email, updated.phone)
    return updated


def leave_thread(patient: Patient, now: datetime) -> Patient | None:
    """None when already left: leaving twice changes nothing."""
    if patient.thread == "left":
        return None
    return replace(patient, thread="left", left_at=now, updated_at=now)
