"""The entry point of a scheduled function (EventBridge): correlation in every log line, metrics
flushed per run, and a `has_time` the job asks before each item, so that a run stops cleanly with
`margin_ms` left and the next run picks up the rest. SnapStart's hooks are registered here, once."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from invitations import snapstart
from invitations.observability import logger, metrics

Job = Callable[[Callable[[], bool]], dict[str, Any]]


def scheduled_entry(job: Job, margin_ms: int) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    snapstart.register()

    @logger.inject_lambda_context
    @metrics.log_metrics
    @event_source(data_class=EventBridgeEvent)
    def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
        return job(lambda: context.get_remaining_time_in_millis() > margin_ms)

    return handler  # type: ignore[no-any-return]
