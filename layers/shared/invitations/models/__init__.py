"""The contract's request and response shapes (pydantic), one module per resource, so that a
function builds only the models it validates or answers with (each class costs its cold start):

requests.py      the bodies a clinician sends, with their validation rules
invitations.py   an invitation, a page of them, its history
patients.py      the patient record
links.py         what the patient's page reads and the acceptance answers
errors.py        the error body every 4xx carries
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

Locale = Literal["fr", "en"]


class Answer(BaseModel):
    """A response model: built on its first use (defer_build), so each function pays only for the
    answers it gives, not for every answer of the service."""

    model_config = ConfigDict(defer_build=True)
