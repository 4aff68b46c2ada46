"""An invitation as the clinician sees it: alone, in a page, and its history."""

from typing import Literal

from pydantic import Field

from invitations.domain.invitation import Channel, DeliveryStatus, Status
from invitations.models import Answer, Locale


class Delivery(Answer):
    status: DeliveryStatus
    channel: Channel | None = Field(default=None, description="The latest message's channel (sms after a fallback)")
    at: str
    detail: str | None = None


class InvitationOut(Answer):
    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    channel: Channel
    status: Status
    link: str | None = Field(default=None, description="Present while pending: the one link that works now.")
    created_at: str
    sent_at: str
    expires_at: str
    accepted_at: str | None
    patient_id: str | None
    delivery: Delivery
    send_count: int
    locale: Locale
    time_zone: str = "Europe/Paris"
    help_link: str = Field(description="A page that helps the patient accept (seed point 9): for the clinician to send")


class InvitationPage(Answer):
    items: list[InvitationOut]
    next_cursor: str | None


class HistoryItem(Answer):
    type: str = Field(
        description="sent, resent, corrected, dispatched, failed, not_sent, accepted, expired, deleted, ..."
    )
    at: str
    actor: Literal["clinician", "patient", "system"]
    actor_id: str | None = Field(description="The clinician's sub for a clinician's action, else null")
    channel: Channel | None
    detail: str | None


class History(Answer):
    items: list[HistoryItem]
