"""A clinician's own invitation: read it and its history, correct its details, delete it."""

from invitations.domain import events, rules
from invitations.domain import invitation as invitations
from invitations.domain.history import HistoryEntry
from invitations.domain.invitation import Invitation
from invitations.observability import logger
from invitations.ports import UnitOfWork
from invitations.use_cases.base import Clinician, Services, commit_change


def get(services: Services, clinician: Clinician, invitation_id: str) -> Invitation:
    return rules.visible_to(services.unit_of_work().invitations.get(invitation_id), clinician.id)


def history(services: Services, clinician: Clinician, invitation_id: str) -> list[HistoryEntry]:
    """Every change and delivery outcome of the invitation, oldest first (same 404s as `get`)."""
    get(services, clinician, invitation_id)
    return services.queries.history(invitation_id)


def correct(services: Services, clinician: Clinician, invitation_id: str, changes: dict[str, str | None]) -> Invitation:
    now = services.clock.now()

    if "phone" in changes:
        services.rules.check_sms_country(changes["phone"])

    def change(uow: UnitOfWork) -> Invitation:
        current = rules.visible_to(uow.invitations.get(invitation_id), clinician.id)
        corrected = uow.invitations.update(invitations.correct(current, changes, now), current)
        uow.raise_event(events.invitation_corrected(corrected, list(changes), clinician.actor, now))
        return corrected

    stored = commit_change(services, change)
    logger.info("invitation corrected", extra={"invitation_id": invitation_id, "fields": sorted(changes)})
    return stored


def delete(services: Services, clinician: Clinician, invitation_id: str) -> None:
    now = services.clock.now()

    def change(uow: UnitOfWork) -> None:
        current = rules.visible_to(uow.invitations.get(invitation_id), clinician.id)
        deleted = uow.invitations.update(invitations.delete(current, now), current)
        uow.raise_event(events.invitation_deleted(deleted, clinician.actor, now))

    commit_change(services, change)
    logger.info("invitation deleted", extra={"invitation_id": invitation_id})
