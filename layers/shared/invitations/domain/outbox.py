"""The outbox: every event a change raised, stored in the same commit as the change, and
dispatched afterwards (its message delivered, the event published), at least once."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from invitations.domain.events import Message
from invitations.domain.invitation import Invitation

MAX_DELIVERY_ATTEMPTS = 5  # a message the provider keeps refusing is recorded `failed` after this many...
GIVE_UP_AFTER = timedelta(minutes=30)  # ...and this long: a burst over SES's sending rate waits, never fails
DONE_KEPT_FOR = timedelta(days=1)  # a dispatched entry's lifetime (TTL) once done
SWEEP_AFTER = timedelta(minutes=3)  # an entry still not done after this is dispatched again by the sweeper


@dataclass(frozen=True)
class OutboxEntry:
    """An event stored with its change, kept until it is published and its message handled."""

    invitation_id: str
    event_id: str
    event_type: str
    detail: dict[str, Any]  # the event's EventBridge detail, exactly as published on every retry
    created_at: datetime
    message: Message | None = None
    message_handled: bool = False  # the message was sent, refused for good, or found stale
    attempts: int = 0  # failed delivery attempts so far
    done_at: datetime | None = None
    rev: int = 0

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def needs_delivery(self) -> bool:
        return self.message is not None and not self.message_handled


def stale_reason(message: Message, invitation: Invitation | None, now: datetime) -> str | None:
    """Why a message must not go out any more (None: it still may). Mailing an old address after
    a correction would be a privacy incident; a replaced link is dead."""
    if invitation is None or invitation.stored_status == "deleted":
        return "invitation deleted"
    if invitation.stored_status == "accepted":
        return "invitation accepted"
    if invitation.link_version != message.link_version:
        return "link replaced"
    if message.kind == "fallback_sms" and not invitation.phone:
        return "no phone number"
    if message.kind in ("invitation", "reminder") and invitation.channel != message.channel:
        return "channel changed"
    if invitation.is_overdue(now) or invitation.stored_status == "expired":
        return "invitation expired"
    return None


def handled(entry: OutboxEntry) -> OutboxEntry:
    return replace(entry, message_handled=True)


def failed_attempt(entry: OutboxEntry) -> OutboxEntry:
    return replace(entry, attempts=entry.attempts + 1)


def attempts_exhausted(entry: OutboxEntry, now: datetime) -> bool:
    """This attempt is the last one allowed: enough attempts, over long enough. The stream retries
    a record within seconds; a throttled message must outlast a burst (the sweeper retries it
    every few minutes) before it is called failed."""
    return entry.attempts + 1 >= MAX_DELIVERY_ATTEMPTS and now - entry.created_at >= GIVE_UP_AFTER


def done(entry: OutboxEntry, now: datetime) -> OutboxEntry:
    return replace(entry, done_at=now)
