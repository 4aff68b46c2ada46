"""The invitation's history: the durable record of who did what and when (the audit trail a
health-data service owes). One entry per change and per delivery outcome; never a name, an
address, a phone number or a link."""

from dataclasses import dataclass
from datetime import datetime

from invitations.domain.events import SYSTEM, Actor, DomainEvent

# What each event is called in the history (the contract's `type`).
_EVENT_TYPES = {
    "InvitationReminded": "reminded",
    "InvitationCorrected": "corrected",
    "InvitationDeleted": "deleted",
    "InvitationAccepted": "accepted",
    "InvitationExpired": "expired",
    "PatientThreadLeft": "thread_left",
}


@dataclass(frozen=True)
class HistoryEntry:
    invitation_id: str
    type: str
    at: datetime
    actor: Actor
    entry_id: str  # the event's id, or the outcome's: entries are unique and written once
    channel: str | None = None
    detail: str | None = None


def of_event(event: DomainEvent) -> HistoryEntry:
    if event.type == "InvitationSent":
        kind = "sent" if event.facts.get("send_count") == 1 else "resent"
    elif event.type in ("InvitationDelivered", "InvitationDeliveryFailed"):
        kind = str(event.facts["delivery_status"])
    else:
        kind = _EVENT_TYPES.get(event.type, event.type)
    channel = event.facts.get("channel")
    fields = event.facts.get("fields")
    detail = ", ".join(fields) if fields else None
    return HistoryEntry(event.invitation_id, kind, event.occurred_at, event.actor, event.event_id, channel, detail)


def report(
    invitation_id: str, kind: str, at: datetime, channel: str, entry_id: str, detail: str | None
) -> HistoryEntry:
    """A provider's report that changes nothing (an older message, a delay): the history only."""
    return HistoryEntry(invitation_id, kind, at, SYSTEM, entry_id, channel, detail)


def delivery_outcome(
    invitation_id: str, kind: str, at: datetime, channel: str, entry_id: str, detail: str | None = None
) -> HistoryEntry:
    """What the dispatcher did with a message: `dispatched` (the provider took it), `failed`, or
    `not_sent` (it became stale before its turn)."""
    return HistoryEntry(invitation_id, kind, at, SYSTEM, entry_id, channel, detail)
