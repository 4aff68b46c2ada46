"""The local event source mapping behaves as Lambda's for a DynamoDB stream: filters, batches,
partial failures, bisection, and the on-failure destination once retries run out."""

from typing import Any

from local.streams import EventSourceMapping, matches
from local.template import StreamSource, functions, load_template, placeholder_refs

OUTBOX_ONLY = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["outbox"]}}}}


def source(**overrides: Any) -> StreamSource:
    settings: dict[str, Any] = {
        "table": "Table",
        "starting_position": "TRIM_HORIZON",
        "batch_size": 3,
        "filters": [OUTBOX_ONLY],
        "report_item_failures": True,
        "bisect_on_error": True,
        "max_retries": 2,
        "on_failure": "DispatchFailureQueue",
    }
    return StreamSource(**{**settings, **overrides})


def record(n: int, kind: str = "outbox", name: str = "INSERT") -> dict[str, Any]:
    image = {"pk": {"S": f"INV#{n}"}, "sk": {"S": f"OUT#{n}"}, "type": {"S": kind}}
    return {"eventName": name, "dynamodb": {"SequenceNumber": str(100 + n), "Keys": image, "NewImage": image}}


class Function:
    """Records each batch; fails (item failure or error) on the numbers it is told to."""

    def __init__(self, poison: set[int] | None = None, raise_on: set[int] | None = None) -> None:
        self.batches: list[list[int]] = []
        self.poison = poison or set()
        self.raise_on = raise_on or set()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        numbers = [int(r["dynamodb"]["Keys"]["pk"]["S"][4:]) for r in event["Records"]]
        self.batches.append(numbers)
        if self.raise_on & set(numbers):
            raise RuntimeError("function error")
        failed = [{"itemIdentifier": str(100 + n)} for n in numbers if n in self.poison]
        return {"batchItemFailures": failed}


def test_the_template_maps_the_outbox_stream_to_the_dispatcher():
    template = load_template()
    [(name, stream)] = [(f.logical_id, s) for f in functions(template, placeholder_refs(template)) for s in f.streams]
    assert name == "DispatchFunction" and stream.table == "Table" and stream.filters == [OUTBOX_ONLY]
    assert stream.report_item_failures and stream.bisect_on_error and stream.on_failure == "DispatchFailureQueue"
    assert 0 < stream.max_retries <= 10 and stream.starting_position == "TRIM_HORIZON"


def test_filters_are_event_patterns():
    assert matches(OUTBOX_ONLY, record(1))
    assert not matches(OUTBOX_ONLY, record(1, kind="history"))
    assert not matches(OUTBOX_ONLY, record(1, name="MODIFY"))
    assert matches({"a": [{"prefix": "OUT#"}]}, {"a": "OUT#1"}) and not matches({"a": [{"prefix": "X"}]}, {"a": "OUT"})
    assert matches({"b": [{"exists": False}]}, {"a": 1}) and not matches({"a": [{"exists": False}]}, {"a": 1})


def test_only_wanted_records_in_batches_of_the_batch_size():
    function = Function()
    outcome = EventSourceMapping(source(), "arn", function).process(
        [record(1), record(2, kind="history"), record(3), record(4), record(5, name="MODIFY"), record(6), record(7)]
    )
    assert function.batches == [[1, 3, 4], [6, 7]] and outcome.delivered == 5 and not outcome.failed_batches


def test_a_reported_failure_retries_from_that_record_then_gives_its_position_up():
    function = Function(poison={3})
    given_up: list[dict[str, Any]] = []
    outcome = EventSourceMapping(source(), "arn", function, given_up.append).process([record(n) for n in (1, 2, 3, 4)])
    assert function.batches == [[1, 2, 3], [3], [3], [4]]  # two retries of the poison, then the stream moves on
    assert outcome.delivered == 3
    [info] = given_up
    assert info["DDBStreamBatchInfo"]["startSequenceNumber"] == "103" and info["DDBStreamBatchInfo"]["batchSize"] == 1
    assert "Records" not in info  # the position, not the records


def test_a_function_error_bisects_the_batch_down_to_the_poison_record():
    function = Function(raise_on={2})
    given_up: list[dict[str, Any]] = []
    mapping = EventSourceMapping(source(batch_size=4, max_retries=3), "arn", function, given_up.append)
    outcome = mapping.process([record(n) for n in (1, 2, 3, 4)])
    assert function.batches[:3] == [[1, 2, 3, 4], [1, 2], [1]]
    assert [3, 4] in function.batches and outcome.delivered == 3
    assert [i["DDBStreamBatchInfo"]["startSequenceNumber"] for i in given_up] == ["102"]


def test_without_item_failures_reporting_the_whole_batch_is_retried():
    function = Function(poison={2})
    EventSourceMapping(source(report_item_failures=False), "arn", function).process([record(1), record(2)])
    assert function.batches == [[1, 2]]  # the answer is ignored: the batch counts as done
