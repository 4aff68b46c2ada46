"""Sending: a new invitation, a resend (new link, full validity), and the delivery of the
current link on the current channel."""

from datetime import datetime

from invitations import messages
from invitations.domain import events, rules
from invitations.domain import invitation as invitations
from invitations.domain.events import Actor
from invitations.domain.invitation import Contact, DeliveryOutcome, Invitation
from invitations.observability import logger
from invitations.ports import DeliveryFailed, UnitOfWork
from invitations.use_cases.base import Clinician, Services, commit_change


def send(services: Services, clinician: Clinician, contact: Contact) -> Invitation:
    created = invitations.create(contact, clinician.id, clinician.name, services.clock.now(), services.rules)

    def change(uow: UnitOfWork) -> Invitation:
        uow.invitations.add(created)
        return created

    return deliver(services, commit_change(services, change), clinician.actor)


def resend(services: Services, clinician: Clinician, invitation_id: str) -> Invitation:
    now = services.clock.now()

    def change(uow: UnitOfWork) -> Invitation:
        current = rules.visible_to(uow.invitations.get(invitation_id), clinician.id)
        return uow.invitations.update(invitations.resend(current, now, services.rules), current)

    return deliver(services, commit_change(services, change), clinician.actor)


def _send_message(services: Services, invitation: Invitation) -> None:
    link = services.links.url(invitation.id, invitation.link_version)
    if invitation.email:
        mail = messages.invitation_email(
            invitation.first_name, invitation.clinician_name, link, invitation.expires_at, invitation.locale
        )
        services.messenger.send_email(invitation.email, mail.subject, mail.text, mail.html)
    elif invitation.phone:
        text = messages.invitation_sms(invitation.clinician_name, link, invitation.expires_at, invitation.locale)
        services.messenger.send_sms(invitation.phone, text)


def _outcome(services: Services, invitation: Invitation) -> DeliveryOutcome:
    try:
        _send_message(services, invitation)
    except DeliveryFailed as failure:
        logger.warning("delivery failed", extra={"invitation_id": invitation.id, "reason": str(failure)})
        services.counter.count("DeliveryFailures")
        return DeliveryOutcome("failed", services.clock.now(), str(failure))
    return DeliveryOutcome("sent", services.clock.now())


def deliver(services: Services, invitation: Invitation, actor: Actor) -> Invitation:
    """Send the current link and record the outcome on the invitation. A failure keeps the
    invitation (its link can be copied, or it can be resent)."""
    outcome = _outcome(services, invitation)
    now: datetime = outcome.at

    def record(uow: UnitOfWork) -> Invitation:
        current = uow.invitations.get(invitation.id)
        if current is None:
            return invitation  # removed meanwhile: nothing to record
        recorded = invitations.record_delivery(current, invitation.link_version, outcome)
        stored = uow.invitations.update(recorded, current) if recorded else current
        uow.raise_event(events.invitation_sent(stored, actor, now))
        return stored

    stored = commit_change(services, record, known=[invitation])
    logger.info(
        "invitation sent",
        extra={"invitation_id": stored.id, "channel": stored.channel, "delivery_status": stored.delivery.status},
    )
    return stored
