"""The patient record, as the clinician sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invitations.clock import iso
from invitations.models.patients import PatientOut

if TYPE_CHECKING:  # annotations only
    from invitations.domain.patient import Patient


def patient_out(p: Patient) -> PatientOut:
    return PatientOut(
        id=p.id,
        first_name=p.first_name,
        last_name=p.last_name,
        email=p.email,
        phone=p.phone,
        invitation_id=p.invitation_id,
        thread=p.thread,
        created_at=iso(p.created_at),
        updated_at=iso(p.updated_at),
        left_at=iso(p.left_at) if p.left_at else None,
    )
