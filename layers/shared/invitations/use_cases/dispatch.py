"""The dispatcher: what happens to a stored event after its change is committed. For each outbox
entry, at least once and never twice for what is done:
  1. its message, if any: re-read the invitation; send nothing if the message became stale;
     else send it and record the outcome on the invitation, the entry and the history in one
     commit (a transient refusal is retried; the last allowed attempt records `failed`);
  2. after an event that may move the invitation's retention (deleted, expired, resent), give
     every history entry the invitation's retention as it is now (domain/history.py);
  3. publish the event (its `event_id` lets consumers drop a repeat);
  4. mark the entry done (it then expires by TTL).
The one crash window left: between the provider taking a message and step 1's commit (a few
milliseconds); a crash there sends that message again on the retry."""

from collections.abc import Callable
from datetime import datetime

from invitations import messages
from invitations.domain import history, outbox
from invitations.domain import invitation as invitations
from invitations.domain.delivery import SentMessage
from invitations.domain.events import Message
from invitations.domain.invitation import DeliveryOutcome, Invitation
from invitations.domain.outbox import OutboxEntry
from invitations.observability import logger
from invitations.ports import DeliveryFailed, UnitOfWork
from invitations.use_cases.base import Services, commit_change

ALIGN_ROUNDS = 3  # reads of an invitation that keeps changing while its history is aligned


class RetryLater(Exception):
    """The entry could not be dispatched now; the stream (or the sweeper) tries it again."""


def dispatch(services: Services, invitation_id: str, event_id: str) -> None:
    """Raises RetryLater when the entry must be tried again."""
    entry = services.unit_of_work().outbox.get(invitation_id, event_id)
    if entry is None or entry.done:
        return  # already dispatched: a repeated record or a sweep after the stream
    if entry.needs_delivery:
        entry = _deliver(services, entry)
    _align_history(services, entry)
    try:
        services.events.publish(entry.event_type, entry.detail)
    except DeliveryFailed as failure:
        logger.warning("event not published", extra={"detail_type": entry.event_type, "reason": str(failure)})
        services.counter.count("EventPublishFailures")
        raise RetryLater(str(failure)) from None
    now = services.clock.now()
    _commit_entry(services, entry, lambda uow, current: uow.outbox.update(outbox.done(current, now), current))
    logger.info("event dispatched", extra={"detail_type": entry.event_type, "event_id": entry.event_id})


def _align_history(services: Services, entry: OutboxEntry) -> None:
    """The history's retention, off the requests' path: after an event that may move it, every
    entry gets the invitation's as it is now (a gone invitation: nothing to align to; its entries
    keep what they carry). Aligning to the present makes a retried or late event harmless (an
    expiry dispatched after a resend puts no TTL back). When something was written, the
    invitation is read again: a change committed meanwhile, whose own dispatch may have aligned
    before these writes, is aligned to in turn."""
    if not history.moves_retention(entry.event_type, entry.detail):
        return
    aligned_to: Invitation | None = None
    for _ in range(ALIGN_ROUNDS):
        uow = services.unit_of_work()
        invitation = uow.invitations.get(entry.invitation_id)
        if invitation is None or (aligned_to is not None and invitation.rev == aligned_to.rev):
            return
        written = uow.history.align(invitation)
        if not written:
            return  # nothing written, nothing stale: the entries were right as of that read
        logger.info("history aligned", extra={"invitation_id": invitation.id, "entries": written})
        aligned_to = invitation
    raise RetryLater("the invitation kept changing while its history was aligned")


def _commit_entry(
    services: Services,
    entry: OutboxEntry,
    change: Callable[[UnitOfWork, OutboxEntry], OutboxEntry | None],
    invitation: Invitation | None = None,
) -> OutboxEntry:
    """Apply `change` to the entry as stored now (another dispatcher may have moved it on). The
    first attempt uses the entry (and invitation) just read instead of reading them again: the
    write is conditioned on their revisions, so a stale value only costs a retry, which reads."""

    def run(uow: UnitOfWork) -> OutboxEntry:
        current = uow.outbox.get(entry.invitation_id, entry.event_id) or entry
        return change(uow, current) or current

    return commit_change(services, run, known=[entry, *([invitation] if invitation else [])])


def _deliver(services: Services, entry: OutboxEntry) -> OutboxEntry:
    assert entry.message is not None
    message = entry.message
    now = services.clock.now()
    invitation = services.unit_of_work().invitations.get(entry.invitation_id)
    stale = outbox.stale_reason(message, invitation, now)
    if stale is not None or invitation is None:
        logger.info("stale message not sent", extra={"invitation_id": entry.invitation_id, "reason": stale})
        note = history.delivery_outcome(entry.invitation_id, "not_sent", now, message.channel, entry.event_id, stale)
        return _record(services, entry, None, note, invitation=invitation)
    try:
        message_id = _send(services, invitation, message)
    except DeliveryFailed as failure:
        if not failure.permanent and not outbox.attempts_exhausted(entry, now):
            logger.warning(
                "delivery failed, will retry", extra={"invitation_id": invitation.id, "reason": str(failure)}
            )
            _commit_entry(
                services, entry, lambda uow, current: uow.outbox.update(outbox.failed_attempt(current), current)
            )
            raise RetryLater(str(failure)) from None
        logger.warning("delivery failed", extra={"invitation_id": invitation.id, "reason": str(failure)})
        services.counter.count("DeliveryFailures")
        at = services.clock.now()
        note = history.delivery_outcome(invitation.id, "failed", at, message.channel, entry.event_id, str(failure))
        outcome = DeliveryOutcome("failed", at, str(failure), message.channel)
        return _record(services, entry, outcome, note, invitation=invitation)
    at = services.clock.now()
    note = history.delivery_outcome(invitation.id, "dispatched", at, message.channel, entry.event_id)
    sent = SentMessage(message_id, invitation.id, message.link_version, message.channel)
    outcome = DeliveryOutcome("sent", at, None, message.channel, message_id)
    return _record(services, entry, outcome, note, sent, invitation)


def _record(
    services: Services,
    entry: OutboxEntry,
    outcome: DeliveryOutcome | None,
    note: history.HistoryEntry,
    sent: SentMessage | None = None,
    invitation: Invitation | None = None,
) -> OutboxEntry:
    """The message's fate, in one commit: on the invitation (if its link is still the one sent),
    on the entry (handled: never sent again), in the history, and the message's provider id
    (its reports will name only that)."""
    assert entry.message is not None
    link_version = entry.message.link_version

    def change(uow: UnitOfWork, current: OutboxEntry) -> OutboxEntry | None:
        if current.message_handled:
            return None
        invitation = uow.invitations.get(entry.invitation_id)
        recorded = invitations.record_delivery(invitation, link_version, outcome) if invitation and outcome else None
        if recorded is not None and invitation is not None:
            uow.invitations.update(recorded, invitation)
        uow.record(note)
        if sent is not None:
            uow.messages.add(sent)
        return uow.outbox.update(outbox.handled(current), current)

    return _commit_entry(services, entry, change, invitation)


def _send(services: Services, invitation: Invitation, message: Message) -> str:
    """The invitation's current link on the message's channel, in its language; the provider's id."""
    link = services.links.url(invitation.id, invitation.link_version)
    if message.channel == "email" and invitation.email:
        expires_at = invitation.local_time(invitation.expires_at)  # the patient's time, not UTC
        write_email = messages.reminder_email if message.kind == "reminder" else messages.invitation_email
        mail = write_email(invitation.first_name, invitation.clinician_name, link, expires_at, invitation.locale)
        # Ids only in the tags ([A-Za-z0-9_-]): SES's reports carry them back.
        tags = {"invitation_id": invitation.id, "link_version": str(invitation.link_version)}
        return services.messenger.send_email(invitation.email, mail.subject, mail.text, mail.html, tags)
    assert invitation.phone is not None  # stale_reason() checked it
    write_sms = messages.reminder_sms if message.kind == "reminder" else messages.invitation_sms
    text = write_sms(invitation.clinician_name, link, invitation.local_time(invitation.expires_at), invitation.locale)
    return services.messenger.send_sms(invitation.phone, text)


def sweep(services: Services, has_time: Callable[[], bool]) -> tuple[int, int]:
    """Dispatch again every entry still not done a while after its change (the stream keeps
    records 24 hours, and an on-failure destination gets only their position). Returns
    (entries found undone, entries dispatched now); reads grow with the undone entries only."""
    found = dispatched = 0
    before: datetime = services.clock.now() - outbox.SWEEP_AFTER
    for invitation_id, event_id in services.queries.undone_outbox(before):
        if not has_time():
            break
        found += 1
        try:
            dispatch(services, invitation_id, event_id)
        except RetryLater:
            continue
        except Exception as error:  # noqa: BLE001 - one poison entry must not stop the sweep
            logger.error("entry not dispatched", extra={"event_id": event_id, "error_type": type(error).__name__})
            continue
        dispatched += 1
    services.counter.count("OutboxUndone", found)  # alarm-able: entries the stream did not finish
    return found, dispatched
