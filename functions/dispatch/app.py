"""The table's stream (outbox items only, by the event source's filter): each new outbox entry's
message is delivered and its event published. A record that fails is reported alone
(ReportBatchItemFailures): the stream retries it, then bisects, then gives its position to the
on-failure queue; the sweeper dispatches the entry again."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from invitations import runtime, snapstart
from invitations.observability import logger, metrics
from invitations.use_cases import dispatch

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def _dispatch(record: DynamoDBRecord) -> None:
    keys = record.dynamodb.keys if record.dynamodb else {}
    invitation_id = str(keys["pk"]).removeprefix("INV#")
    event_id = str(keys["sk"]).removeprefix("OUT#")
    dispatch.dispatch(runtime.services(), invitation_id, event_id)  # RetryLater: the record fails


snapstart.register()  # SnapStart's runtime hooks, when it is on (nothing runs otherwise)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_dispatch, processor=processor, context=context)
