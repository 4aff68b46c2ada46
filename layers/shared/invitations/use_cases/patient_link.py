"""The patient's side, by link: see the invitation, accept it."""

from invitations.domain import events, rules
from invitations.domain import invitation as invitations
from invitations.domain import patient as patients
from invitations.domain.errors import LinkGone
from invitations.domain.invitation import Invitation
from invitations.observability import logger
from invitations.ports import UnitOfWork
from invitations.use_cases.base import Services, commit_change


def _by_token(services: Services, uow: UnitOfWork, token: str) -> Invitation:
    """The invitation the token opens now: unknown, replaced or deleted is LinkGone."""
    invitation_id = services.links.invitation_id_of(token)
    if invitation_id is None:  # not even shaped like a token: nothing secret to time
        raise LinkGone()
    invitation = uow.invitations.get(invitation_id)
    # A MAC is computed even for an unknown id (against version 0, which no link has), and compared
    # in constant time: an unknown id and a wrong MAC cost the same.
    valid = services.links.verify(token, invitation_id, invitation.link_version if invitation else 0)
    if invitation is None or not valid:
        raise LinkGone()
    if invitation.stored_status == "deleted":
        raise LinkGone()
    return invitation


def view(services: Services, token: str) -> Invitation:
    """Opening the page never consumes the link (mail scanners open links too)."""
    invitation = _by_token(services, services.unit_of_work(), token)
    if invitation.stored_status != "accepted":
        rules.link_usable(invitation, services.clock.now())
    return invitation


def accept(services: Services, token: str) -> Invitation:
    """Idempotent: the same link again answers the same patient. The invitation's change and the
    new patient record are one commit, so exactly one acceptance ever wins."""
    now = services.clock.now()

    def change(uow: UnitOfWork) -> Invitation:
        current = _by_token(services, uow, token)
        if current.stored_status == "accepted":
            return current
        patient = patients.from_invitation(current, now)
        accepted = uow.invitations.update(invitations.accept(current, patient.id, now), current)
        uow.patients.add(patient)
        uow.raise_event(events.invitation_accepted(accepted, patient, now))
        logger.info("invitation accepted", extra={"invitation_id": accepted.id, "patient_id": patient.id})
        return accepted

    return commit_change(services, change)
