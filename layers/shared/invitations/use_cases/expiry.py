"""The scheduled expiry: every overdue pending invitation becomes expired, once, with its event.
Its reads grow with the invitations that expire, not with the table."""

from collections.abc import Callable
from dataclasses import dataclass

from invitations.domain import events
from invitations.domain import invitation as invitations
from invitations.domain.invitation import Invitation
from invitations.observability import logger
from invitations.ports import UnitOfWork
from invitations.use_cases.base import Services, commit_change


@dataclass(frozen=True)
class ExpiryRun:
    """What one scheduled expiry run did."""

    expired: int
    complete: bool  # False: stopped early for lack of time; the next run picks up the rest


def expire_overdue(services: Services, has_time: Callable[[], bool]) -> ExpiryRun:
    """Safe to run twice at once: the conditional write lets one run win each invitation."""
    now = services.clock.now()
    expired = 0
    for overdue in services.queries.overdue(now):
        if not has_time():
            logger.info("expiry run paused", extra={"expired": expired})
            return ExpiryRun(expired, complete=False)

        def change(uow: UnitOfWork, invitation_id: str = overdue.id) -> bool:
            current = uow.invitations.get(invitation_id)
            due = invitations.expire(current, now) if current else None
            if due is None or current is None:
                return False  # removed, resent or accepted meanwhile, or expired by another run
            stored = uow.invitations.update(due, current)
            uow.raise_event(events.invitation_expired(stored, now))
            return True

        # Read from the index: if stale, the conditional write says so and the next attempt reads.
        known: list[Invitation] = [overdue]
        if commit_change(services, change, known=known):
            expired += 1
    logger.info("expiry run complete", extra={"expired": expired})
    return ExpiryRun(expired, complete=True)
