"""The scheduled reminder: once per link, `ReminderDaysBefore` days before it expires, between
09:00 and 20:00 where the patient is, on the current channel with the same link. Found through a
sparse index of the reminders due (its reads grow with them, not with the table); safe to run
twice at once (the conditional write lets one run win each reminder)."""

from collections.abc import Callable

from invitations.domain import events, quotas
from invitations.domain import invitation as invitations
from invitations.observability import logger
from invitations.ports import UnitOfWork
from invitations.use_cases.base import Services, commit_change


def send_due(services: Services, has_time: Callable[[], bool]) -> int:
    now = services.clock.now()
    reminded = 0
    for due in services.queries.reminders_due(now):
        if not has_time():
            break

        def change(uow: UnitOfWork, invitation_id: str = due.id) -> bool:
            current = uow.invitations.get(invitation_id)
            reminder = invitations.remind(current, now, services.rules) if current else None
            if reminder is None or current is None:
                return False  # accepted, resent, deleted, reminded by another run, or not yet in the day's hours
            stored = uow.invitations.update(reminder, current)
            # A reminder counts in the clinician's daily messages, but is never refused (one per link).
            key = f"clinician#{stored.clinician_id}"
            counted = uow.quotas.get(key)
            uow.quotas.put(
                quotas.count(counted or quotas.Quota(key), quotas.per_clinician(services.rules), now), counted
            )
            uow.raise_event(events.invitation_reminded(stored, now))
            return True

        if commit_change(services, change, known=[due]):
            reminded += 1
    logger.info("reminders sent", extra={"reminded": reminded})
    return reminded
