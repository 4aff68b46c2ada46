"""Sending: a new invitation, a resend (new link, full validity). Neither waits for a provider:
the change and its InvitationSent event (with the message to deliver) are stored together, and
the dispatcher delivers it (use_cases/dispatch.py)."""

from invitations.domain import events, rules
from invitations.domain import invitation as invitations
from invitations.domain.invitation import Contact, Invitation
from invitations.observability import logger
from invitations.ports import UnitOfWork
from invitations.use_cases.base import Clinician, Services, commit_change


def send(services: Services, clinician: Clinician, contact: Contact) -> Invitation:
    now = services.clock.now()
    created = invitations.create(contact, clinician.id, clinician.name, now, services.rules)

    def change(uow: UnitOfWork) -> Invitation:
        uow.invitations.add(created)
        uow.raise_event(events.invitation_sent(created, clinician.actor, now))
        return created

    stored = commit_change(services, change)
    logger.info("invitation sent", extra={"invitation_id": stored.id, "channel": stored.channel})
    return stored


def resend(services: Services, clinician: Clinician, invitation_id: str) -> Invitation:
    now = services.clock.now()

    def change(uow: UnitOfWork) -> Invitation:
        current = rules.visible_to(uow.invitations.get(invitation_id), clinician.id)
        resent = uow.invitations.update(invitations.resend(current, now, services.rules), current)
        uow.raise_event(events.invitation_sent(resent, clinician.actor, now))
        return resent

    stored = commit_change(services, change)
    logger.info("invitation sent", extra={"invitation_id": stored.id, "channel": stored.channel})
    return stored
