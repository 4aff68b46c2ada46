"""A DynamoDB stream event source mapping, run as Lambda runs it, from template.yaml's own
settings (local/template.py `StreamSource`): records in order, only those a filter lets through,
in batches of `BatchSize`; a batch whose function fails is retried, bisected on a function error,
retried from the first failed record when the function reports item failures, and after
`MaximumRetryAttempts` its position goes to the on-failure destination and the stream moves on.

The records come from the Streams API (DynamoDB Local: `ShardReader`, with its position kept in a
file so that a restarted `make dev` goes on where it stopped) or, in the in-process tests, from
moto's own stream. Both hand over real-shaped records."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local.template import StreamSource

Record = dict[str, Any]
Invoke = Callable[[dict[str, Any]], Any]


def matches(pattern: Any, value: Any) -> bool:
    """EventBridge-style pattern matching, the subset Lambda filters use: nested objects, lists
    of allowed values, `{"prefix": ...}` and `{"exists": bool}`."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        for key, sub in pattern.items():
            if isinstance(sub, list) and any(isinstance(c, dict) and "exists" in c for c in sub):
                wanted = next(c["exists"] for c in sub if isinstance(c, dict) and "exists" in c)
                if (key in value) != wanted:
                    return False
            elif key not in value or not matches(sub, value[key]):
                return False
        return True
    if isinstance(pattern, list):
        return any(_allowed(choice, value) for choice in pattern)
    return bool(pattern == value)


def _allowed(choice: Any, value: Any) -> bool:
    if isinstance(choice, dict) and "prefix" in choice:
        return isinstance(value, str) and value.startswith(choice["prefix"])
    return bool(choice == value)


@dataclass
class Outcome:
    delivered: int = 0  # records the function took
    failed_batches: list[dict[str, Any]] = field(default_factory=list)  # what went to the on-failure destination


class EventSourceMapping:
    """One function's mapping: `process` hands every record over, or to the on-failure destination."""

    def __init__(
        self,
        source: StreamSource,
        stream_arn: str,
        invoke: Invoke,
        on_failure: Callable[[dict[str, Any]], None] | None = None,
        max_retries_cap: int = 10,
    ) -> None:
        self.source = source
        self.stream_arn = stream_arn
        self._invoke = invoke
        self._on_failure = on_failure
        # -1 means "until the record expires" (24 hours): locally, a bound that ends a poison batch.
        self._max_retries = source.max_retries if source.max_retries >= 0 else max_retries_cap

    def wanted(self, record: Record) -> bool:
        return not self.source.filters or any(matches(p, record) for p in self.source.filters)

    def process(self, records: list[Record]) -> Outcome:
        outcome = Outcome()
        kept = [dict(r, eventSourceARN=self.stream_arn) for r in records if self.wanted(r)]
        for start in range(0, len(kept), self.source.batch_size):
            self._batch(kept[start : start + self.source.batch_size], outcome)
        return outcome

    def _call(self, batch: list[Record]) -> int | None:
        """Index of the first record to retry from (0 on a function error), or None when done."""
        try:
            answer = self._invoke({"Records": batch})
        except Exception:  # noqa: BLE001 - a function error, whatever it is
            return 0
        failures = (answer or {}).get("batchItemFailures") if self.source.report_item_failures else None
        if not failures:
            return None
        failed = {f.get("itemIdentifier") for f in failures}
        numbers = [r["dynamodb"]["SequenceNumber"] for r in batch]
        # Lambda retries from the lowest sequence number reported (an unknown one: the whole batch).
        return min((numbers.index(n) for n in failed if n in numbers), default=0)

    def _batch(self, batch: list[Record], outcome: Outcome, retries: int = 0) -> None:
        while batch:
            failed_from = self._call(batch)
            if failed_from is None:
                outcome.delivered += len(batch)
                return
            outcome.delivered += failed_from
            batch = batch[failed_from:]
            retries += 1
            if retries > self._max_retries:
                self._give_up(batch, outcome)
                return
            if self.source.bisect_on_error and failed_from == 0 and len(batch) > 1:
                middle = len(batch) // 2
                self._batch(batch[:middle], outcome, retries)
                self._batch(batch[middle:], outcome, retries)
                return

    def _give_up(self, batch: list[Record], outcome: Outcome) -> None:
        """What Lambda sends the on-failure destination: the batch's position, not its records."""
        info = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": self._max_retries + 1},
            "responseContext": {"statusCode": 200},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": batch[0].get("shardId", "shardId-local"),
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        outcome.failed_batches.append(info)
        if self._on_failure:
            self._on_failure(info)


class ShardReader:
    """New records of a table's stream through the Streams API, shard after shard, from where the
    last read stopped (kept in `position_file`, if given)."""

    def __init__(self, streams: Any, stream_arn: str, position_file: Path | None = None) -> None:
        self._streams = streams
        self.stream_arn = stream_arn
        self._position_file = position_file
        self._lock = threading.Lock()
        saved = json.loads(position_file.read_text()) if position_file and position_file.exists() else {}
        self._positions: dict[str, str] = saved.get(stream_arn, {})  # shard id -> last sequence number handed over
        self._iterators: dict[str, str | None] = {}

    def _iterator(self, shard_id: str) -> str | None:
        if shard_id not in self._iterators:
            after = self._positions.get(shard_id)
            kind = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            self._iterators[shard_id] = self._streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, **kind
            )["ShardIterator"]
        return self._iterators[shard_id]

    def read(self) -> list[Record]:
        """Every record not yet read, oldest first (records of one shard stay in order)."""
        with self._lock:
            found: list[Record] = []
            shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            for shard in shards:
                shard_id = shard["ShardId"]
                iterator = self._iterator(shard_id)
                while iterator:
                    page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                    found.extend(dict(r, shardId=shard_id) for r in page["Records"])
                    iterator = page.get("NextShardIterator")
                    if not page["Records"]:
                        break
                self._iterators[shard_id] = iterator
            return found

    def done_with(self, records: list[Record]) -> None:
        """Remember the last record handed over, per shard (a restart reads after it)."""
        with self._lock:
            for record in records:
                self._positions[record.get("shardId", "")] = record["dynamodb"]["SequenceNumber"]
            if self._position_file and records:
                self._position_file.write_text(json.dumps({self.stream_arn: self._positions}))
