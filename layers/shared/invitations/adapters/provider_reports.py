"""The providers' reports, read into the domain's `Report`: SES's events as EventBridge delivers
them (`source: aws.ses`), and SNS's SMS delivery-status log records as a CloudWatch Logs
subscription delivers them (`awslogs.data`: gzip, base64). Nothing of the recipient is kept."""

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from invitations.clock import parse_iso
from invitations.domain.delivery import Report

DETAIL_LIMIT = 100


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        return parse_iso(text.replace(" ", "T") if "T" not in text else text)
    except ValueError:
        return datetime.now(UTC)


def ses_report(event: dict[str, Any]) -> Report | None:
    """One SES event (EventBridge shape); None for the kinds that report nothing new (Send: the
    dispatcher recorded `sent` already; opens and clicks: not tracked)."""
    detail = event.get("detail") or {}
    kind = detail.get("eventType")
    message_id = (detail.get("mail") or {}).get("messageId")
    if not message_id:
        return None
    report_id = str(event.get("id") or f"{message_id}-{kind}")
    at = _when(event.get("time"))
    if kind == "Delivery":
        return Report(report_id, message_id, "delivered", at)
    if kind == "Bounce":
        bounce = detail.get("bounce") or {}
        subtype = str(bounce.get("bounceSubType") or "General")
        if bounce.get("bounceType") == "Permanent":
            return Report(report_id, message_id, "bounced", at, f"permanent bounce: {subtype}")
        return Report(report_id, message_id, "sent", at, f"soft bounce: {subtype}")  # SES tries again
    if kind == "Complaint":
        return Report(report_id, message_id, "complained", at, "marked as spam")
    if kind == "Reject":
        return Report(report_id, message_id, "failed", at, "rejected by SES")
    if kind == "Rendering Failure":
        return Report(report_id, message_id, "failed", at, "rendering failure")
    if kind == "DeliveryDelay":
        delay = str((detail.get("deliveryDelay") or {}).get("delayType") or "delayed")
        return Report(report_id, message_id, "sent", at, f"delivery delayed: {delay}")
    return None


def sns_reports(event: dict[str, Any]) -> Iterator[Report]:
    """The SMS delivery-status records of one CloudWatch Logs subscription delivery."""
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    for log_event in data.get("logEvents", []):
        try:
            record = json.loads(log_event["message"])
        except (KeyError, ValueError):
            continue
        message_id = (record.get("notification") or {}).get("messageId")
        if not message_id:
            continue
        # When SNS logged the outcome (the notification's own time is when SNS took the message).
        logged = log_event.get("timestamp")
        at = datetime.fromtimestamp(logged / 1000, UTC) if isinstance(logged, int | float) else _when(None)
        # The provider's words only (the record's `destination` is the phone number: never kept).
        response = str((record.get("delivery") or {}).get("providerResponse") or "")[:DETAIL_LIMIT] or None
        report_id = str(log_event.get("id") or message_id)
        if record.get("status") == "SUCCESS":
            yield Report(report_id, message_id, "delivered", at, response)
        else:
            yield Report(report_id, message_id, "failed", at, response)


def reports_of(event: dict[str, Any]) -> list[Report]:
    if "awslogs" in event:
        return list(sns_reports(event))
    if event.get("source") == "aws.ses":
        found = ses_report(event)
        return [found] if found else []
    return []
