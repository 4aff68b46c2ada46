"""What the patient's page reads through the link, and what accepting answers."""

from typing import Literal

from invitations.domain.invitation import Status
from invitations.models import Answer


class LinkView(Answer):
    status: Status
    clinician_name: str
    expires_at: str


class Accepted(Answer):
    status: Literal["accepted"]
    patient_id: str
