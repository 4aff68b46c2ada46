"""The providers' reports on what became of a message (SES through EventBridge, SNS through its
delivery-status logs): each one is applied to the invitation by the rules of domain/delivery.py,
kept in the history, and published; a permanent bounce falls back to SMS once."""

from dataclasses import replace

from invitations.domain import delivery, events, history
from invitations.domain.delivery import Report
from invitations.observability import logger
from invitations.ports import UnitOfWork
from invitations.use_cases.base import Services, commit_change


def record(services: Services, report: Report) -> bool:
    """Apply one report; False when it was a duplicate or names no message of this service."""
    now = services.clock.now()
    attempted = False

    def change(uow: UnitOfWork) -> bool:
        nonlocal attempted
        retried, attempted = attempted, True
        sent = uow.messages.get(report.message_id)
        if sent is None:
            return False  # another stage's or application's message, or long forgotten
        # The report's own item is written on condition that it does not exist, so a duplicate's
        # first attempt fails to commit: only a retry pays the read that tells it was one.
        if retried and uow.reports.seen(sent.invitation_id, report.report_id):
            return False
        uow.reports.add(sent.invitation_id, report.report_id)
        invitation = uow.invitations.get(sent.invitation_id)
        applied = delivery.apply(invitation, report) if invitation else None
        if invitation is None or applied is None or report.status == "sent":
            # An older link's or message's report, a less certain one, or a delay: history only.
            kind = "delivery_delayed" if report.status == "sent" else report.status
            uow.record(
                history.report(sent.invitation_id, kind, report.at, sent.channel, report.report_id, report.detail)
            )
            if applied is not None and invitation is not None:
                uow.invitations.update(applied, invitation)
            return True
        fallback = delivery.fallback_due(invitation, report, now)
        if fallback:
            applied = replace(applied, fallback_link=invitation.link_version)
        stored = uow.invitations.update(applied, invitation)
        uow.raise_event(
            events.delivery_reported(stored, report.status, sent.channel, sent.link_version, report.at, fallback)
        )
        if fallback:
            uow.record(history.report(stored.id, "fallback_sms", report.at, "sms", f"{report.report_id}-fb", None))
        return True

    recorded = commit_change(services, change)
    if recorded and report.status in ("bounced", "complained", "failed"):
        services.counter.count("DeliveryBounces" if report.status == "bounced" else "DeliveryFailures")
    logger.info("delivery report", extra={"status": report.status, "recorded": recorded})
    return recorded
