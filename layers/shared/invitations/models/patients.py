"""The patient record, created by an acceptance."""

from typing import Literal

from invitations.models import Answer


class PatientOut(Answer):
    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    invitation_id: str
    thread: Literal["active", "left"]
    created_at: str
    updated_at: str
    left_at: str | None = None
