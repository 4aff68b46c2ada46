"""The invitation's history: the durable record of who did what and when (the audit trail a
health-data service owes). One entry per change and per delivery outcome; never a name, an
address, a phone number or a link.

The history goes with its invitation: each entry is kept exactly as long as the invitation is
(`kept_until`). An entry is written with the invitation's retention as its change leaves it; the
older entries are aligned by the dispatcher after each event that may move that retention
(`moves_retention`), never on a request's path."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from invitations.domain import invitation as invitations
from invitations.domain.events import SYSTEM, Actor, DomainEvent
from invitations.domain.invitation import Invitation

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
    """One line of an invitation's history, as the clinician sees it (never a name or an address)."""

    invitation_id: str
    type: str
    at: datetime
    actor: Actor
    entry_id: str  # the event's id, or the outcome's: entries are unique and written once
    channel: str | None = None
    detail: str | None = None
    kept_until: datetime | None = None  # erased with the invitation then (None: kept while it is)


def kept_until(invitation: Invitation | None, retention: timedelta) -> datetime | None:
    """How long an invitation's history is kept: as long as the invitation, as it is now (None
    when it keeps no retention, or is not known: nothing to align to)."""
    return invitations.retained_until(invitation, retention) if invitation is not None else None


def _is_resend(facts: Mapping[str, Any]) -> bool:
    return facts.get("send_count") != 1


def moves_retention(event_type: str, detail: Mapping[str, Any]) -> bool:
    """After this event the invitation's retention may differ from what its older entries carry:
    a deletion or an expiry gives it one, a resend takes an expired one's away (it revives it).
    Other events leave it as it was (a correction keeps the status; an acceptance comes from
    pending, which has none)."""
    if event_type in ("InvitationDeleted", "InvitationExpired"):
        return True
    return event_type == "InvitationSent" and _is_resend(detail)


def of_event(event: DomainEvent) -> HistoryEntry:
    if event.type == "InvitationSent":
        kind = "resent" if _is_resend(event.facts) else "sent"
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
