"""Reference for expire_invites, first run on the scheduled event: the 4 shards of the Due index
queried for expiries before now, then for each overdue invitation one TransactWriteItems (the
invitation expired, conditional on its revision, its name entries with the retention TTL, its
outbox entry and history entry; no EventBridge call: the dispatcher publishes)."""

from datetime import datetime, timedelta
from typing import Any

import ref_base as b
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

SHARDS, RETENTION = 4, timedelta(days=90)


def _expire(item: dict[str, Any]) -> None:
    rev, clinician_id = b.s(item, "rev"), b.s(item, "clinician_id")
    ttl = int((datetime.fromisoformat(b.s(item, "expires_at")) + RETENTION).timestamp())
    # Out of the Due and Remind indexes (pending only): in ByStatus under expired.
    stored = {k: v for k, v in item.items() if k not in ("due_pk", "due_sk", "remind_pk", "remind_sk")}
    stored.update(
        status={"S": "expired"},
        gsi2pk={"S": f"CLIN#{clinician_id}#expired"},
        rev={"N": str(rev + 1)},
        ttl={"N": str(ttl)},
    )
    put = {
        "TableName": b.settings().table_name,
        "Item": stored,
        "ConditionExpression": "rev = :rev",
        "ExpressionAttributeValues": {":rev": {"N": str(rev)}},
    }
    at = b.now()
    facts = {"clinician_id": clinician_id, "expires_at": b.s(item, "expires_at"), "expired_at": b.iso(at)}
    event = b.event_items("InvitationExpired", "expired", stored, at, None, facts)
    b.write([{"Put": put}, *b.name_entries(stored, ttl), *event])
    b.metrics.add_metric(name="InvitationsExpired", unit=MetricUnit.Count, value=1)


@b.logger.inject_lambda_context
@b.metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    bound, expired = b.iso(b.now()) + "$", 0
    for shard in range(SHARDS):
        query: dict[str, Any] = {
            "TableName": b.settings().table_name,
            "IndexName": "Due",
            "KeyConditionExpression": "due_pk = :pk AND due_sk < :bound",
            "ExpressionAttributeValues": {":pk": {"S": f"DUE#{shard}"}, ":bound": {"S": bound}},
            "Limit": 100,
            "ReturnConsumedCapacity": "TOTAL",
        }
        while True:
            page = b.client("dynamodb").query(**query)
            for item in page["Items"]:
                _expire(item)
                expired += 1
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return {"expired": expired, "complete": True}
