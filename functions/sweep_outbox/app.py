"""Scheduled (EventBridge): every outbox entry still not done a few minutes after its change is
dispatched again. A stream keeps records 24 hours and its on-failure queue only gets positions:
this is what makes "never lost" true on AWS too."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from invitations import runtime, snapstart
from invitations.observability import logger, metrics
from invitations.use_cases import dispatch

# Stop with this much time left, so the run ends cleanly; the next run picks up the rest.
SAFETY_MARGIN_MS = 30_000


snapstart.register()  # SnapStart's runtime hooks, when it is on (nothing runs otherwise)


@logger.inject_lambda_context
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    found, dispatched = dispatch.sweep(
        runtime.services(), has_time=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS
    )
    logger.info("outbox swept", extra={"undone": found, "dispatched": dispatched})
    return {"undone": found, "dispatched": dispatched}
