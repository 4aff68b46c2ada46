"""Counts of sends in a sliding window, across invitations: per clinician and recipient, per
clinician, per phone number. A quota is stored, and taken in the same commit as the send it
counts (conditioned on the count read), so that concurrent sends cannot pass a limit."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from invitations.domain.errors import TooManySends
from invitations.domain.rules import NEW_INVITATIONS_PER_PHONE, NEW_INVITATIONS_PER_RECIPIENT, SEND_WINDOW, Rules


@dataclass(frozen=True)
class Limit:
    """One send limit: how many sends per window, counted by bucket."""

    count: int
    bucket: timedelta  # sends are counted by bucket: a few buckets keep an item small
    refusal: str  # what the clinician is told


@dataclass(frozen=True)
class Quota:
    """One counter of sends, stored under a pseudonym: its recent buckets and revision."""

    key: str  # a pseudonym: never an address or a number in clear
    buckets: tuple[tuple[datetime, int], ...] = ()  # (bucket start, sends in it), oldest first
    rev: int = 0  # the stored revision (0: none stored)


def per_recipient() -> Limit:
    return Limit(
        NEW_INVITATIONS_PER_RECIPIENT,
        timedelta(minutes=1),
        "Three invitations were already sent to this recipient in the last 24 hours; try again later.",
    )


def per_phone() -> Limit:
    return Limit(
        NEW_INVITATIONS_PER_PHONE,
        timedelta(minutes=1),
        "This phone number received the most invitations allowed in 24 hours; try again later.",
    )


def per_clinician(rules: Rules) -> Limit:
    return Limit(
        rules.max_sends_per_day,
        timedelta(hours=1),
        "This account sent the most messages allowed in 24 hours; try again later.",
    )


def _start(moment: datetime, bucket: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    return moment - (moment - epoch) % bucket


def _live(quota: Quota, limit: Limit, now: datetime) -> tuple[tuple[datetime, int], ...]:
    """Buckets that overlap the window: counted whole, so the limit is never exceeded."""
    return tuple((start, n) for start, n in quota.buckets if start + limit.bucket > now - SEND_WINDOW)


def take(quota: Quota, limit: Limit, now: datetime) -> Quota:
    """One more send, if the limit allows it; else TooManySends with the seconds to wait."""
    live = _live(quota, limit, now)
    if sum(n for _, n in live) >= limit.count:
        wait = live[0][0] + limit.bucket + SEND_WINDOW - now
        raise TooManySends(max(1, int(wait.total_seconds()) + 1), limit.refusal)
    return count(replace(quota, buckets=live), limit, now)


def count(quota: Quota, limit: Limit, now: datetime) -> Quota:
    """One more send, never refused (a reminder or a fallback: bounded by construction)."""
    start = _start(now, limit.bucket)
    live = _live(quota, limit, now)
    if live and live[-1][0] == start:
        return replace(quota, buckets=(*live[:-1], (start, live[-1][1] + 1)))
    return replace(quota, buckets=(*live, (start, 1)))
