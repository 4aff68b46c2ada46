"""What the patient's page shows through the link: never the patient's contact, only who invites
them and until when."""

from __future__ import annotations

from typing import TYPE_CHECKING

from invitations.clock import iso
from invitations.models.links import LinkView

if TYPE_CHECKING:  # annotations only
    from datetime import datetime

    from invitations.domain.invitation import Invitation


def link_view(inv: Invitation, now: datetime) -> LinkView:
    return LinkView(status=inv.status_at(now), clinician_name=inv.clinician_name, expires_at=iso(inv.expires_at))
