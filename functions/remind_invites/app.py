"""Scheduled (EventBridge): each pending invitation's link is reminded once, a few days before it
expires, between 09:00 and 20:00 where the patient is."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from invitations import runtime, snapstart
from invitations.observability import logger, metrics
from invitations.use_cases import reminders

# Stop with this much time left, so the run ends cleanly; the next run picks up the rest.
SAFETY_MARGIN_MS = 10_000

snapstart.register()  # SnapStart's runtime hooks, when it is on (nothing runs otherwise)


@logger.inject_lambda_context
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    sent = reminders.send_due(
        runtime.services(), has_time=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS
    )
    return {"reminded": sent}
