"""What the providers report about a message, and what it changes. Reports arrive late, out of
order and sometimes twice: for one message the status only moves forward in certainty (a late
"delivered" never hides a "bounced"), a duplicate changes nothing, and a report about an older
link or an earlier message goes to the history only."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from invitations.domain.invitation import Channel, DeliveryStatus, Invitation

ReportStatus = Literal["sent", "delivered", "bounced", "complained", "failed"]

# How certain a status is: a report moves the delivery only to a more certain one.
CERTAINTY: dict[DeliveryStatus, int] = {
    "queued": 0,
    "not_sent": 0,
    "sent": 1,
    "delivered": 2,
    "bounced": 3,
    "complained": 3,
    "failed": 3,
}


@dataclass(frozen=True)
class SentMessage:
    """What the service keeps about a message it handed to a provider, by the provider's id:
    which invitation and link it carried (a report names only the message)."""

    message_id: str
    invitation_id: str
    link_version: int
    channel: Channel


@dataclass(frozen=True)
class Report:
    """What a provider reported about one message it took (SES via EventBridge, SNS via its logs)."""

    report_id: str  # the provider's id of the report: duplicates are dropped on it
    message_id: str
    status: ReportStatus
    at: datetime
    detail: str | None = None  # a short reason (bounce type, provider response), never an address


def is_about_current_message(invitation: Invitation, report: Report) -> bool:
    return invitation.delivery.message_id == report.message_id


def apply(invitation: Invitation, report: Report) -> Invitation | None:
    """The invitation with the report applied; None when it changes nothing (an older message,
    or no more certain than what is known)."""
    if not is_about_current_message(invitation, report):
        return None
    if CERTAINTY[report.status] <= CERTAINTY[invitation.delivery.status]:
        if report.status == invitation.delivery.status == "sent" and report.detail != invitation.delivery.detail:
            # A soft bounce or a delivery delay keeps `sent`, with a word on why.
            return replace(invitation, delivery=replace(invitation.delivery, detail=report.detail, at=report.at))
        return None
    updated = replace(
        invitation, delivery=replace(invitation.delivery, status=report.status, at=report.at, detail=report.detail)
    )
    if report.status in ("bounced", "complained") and invitation.delivery.channel == "email":
        updated = replace(updated, email_suppressed=True)  # SES reviews accounts above 5 % bounces
    return updated


def fallback_due(before: Invitation, report: Report, now: datetime) -> bool:
    """A permanent bounce of the current link's email, on a pending invitation with a phone
    number: the same link goes once by SMS, at once."""
    return (
        report.status == "bounced"
        and is_about_current_message(before, report)
        and before.delivery.channel == "email"
        and before.phone is not None
        and before.fallback_link != before.link_version
        and before.status_at(now) == "pending"
    )
