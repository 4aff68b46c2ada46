"""Sending: a new invitation, a resend (new link, full validity). Neither waits for a provider:
the change and its InvitationSent event (with the message to deliver) are stored together, and
the dispatcher delivers it (use_cases/dispatch.py)."""

from datetime import datetime

from invitations.domain import events, quotas, rules
from invitations.domain import invitation as invitations
from invitations.domain.invitation import Contact, Invitation
from invitations.observability import logger
from invitations.ports import UnitOfWork
from invitations.use_cases.base import Clinician, Services, commit_change


def _take(uow: UnitOfWork, key: str, limit: quotas.Limit, now: datetime) -> None:
    current = uow.quotas.get(key)
    uow.quotas.put(quotas.take(current or quotas.Quota(key), limit, now), current)


def _take_send_limits(
    services: Services, uow: UnitOfWork, clinician: Clinician, contact: Contact, now: datetime
) -> None:
    """A new invitation counts against its clinician's daily messages, each recipient's three
    invitations from that clinician, and the phone number's invitations from everyone."""
    _take(uow, f"clinician#{clinician.id}", quotas.per_clinician(services.rules), now)
    for recipient in rules.recipient_of(contact.email, contact.phone):
        _take(uow, f"recipient#{clinician.id}#{services.pseudonyms.of(recipient)}", quotas.per_recipient(), now)
    if contact.phone:
        _take(uow, f"phone#{services.pseudonyms.of(contact.phone)}", quotas.per_phone(), now)


def send(services: Services, clinician: Clinician, contact: Contact) -> Invitation:
    now = services.clock.now()
    services.rules.check_sms_country(contact.phone)
    created = invitations.create(contact, clinician.id, clinician.name, now, services.rules)

    def change(uow: UnitOfWork) -> Invitation:
        _take_send_limits(services, uow, clinician, contact, now)
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
        _take(uow, f"clinician#{clinician.id}", quotas.per_clinician(services.rules), now)
        uow.raise_event(events.invitation_sent(resent, clinician.actor, now))
        return resent

    stored = commit_change(services, change)
    logger.info("invitation sent", extra={"invitation_id": stored.id, "channel": stored.channel})
    return stored
