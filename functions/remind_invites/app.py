"""Scheduled (EventBridge): each pending invitation's link is reminded once, a few days before it
expires, between 09:00 and 20:00 where the patient is."""

from invitations import runtime
from invitations.scheduled import scheduled_entry
from invitations.use_cases import reminders

lambda_handler = scheduled_entry(
    lambda has_time: {"reminded": reminders.send_due(runtime.services(), has_time)}, margin_ms=10_000
)
