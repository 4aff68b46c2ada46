"""Capacity as DynamoDB bills it, for both sides of every capacity comparison.

DynamoDB Local's ConsumedCapacity is right for reads and plain writes, but not for a
TransactWriteItems: it reports twice the sum of the items' *distinct* write units (six 10-byte
items count 2, where DynamoDB bills 12). So every write is priced here from the sizes of the items
it touches, read before and after it with a client of the bench's own, by AWS's documented rules
(Amazon DynamoDB Developer Guide):

- "DynamoDB item sizes and formats": an item's size;
- "Capacity unit consumption for write operations": 1 unit per started KB of the larger of the item
  before and after a PutItem or UpdateItem, of the deleted item for a DeleteItem, per item for a
  BatchWriteItem; a refused conditional write costs the existing item's units, or 1;
- "Capacity management for transactions": two underlying writes of every item of a transaction
  (prepare and commit), a ConditionCheck included;
- "Global secondary indexes, write capacity units": every index the write changes costs a write of
  its entry, two when the entry's key moves. A transaction's index writes are propagated after it
  commits; they are not doubled (as measured against DynamoDB, nubo-db/dynoxide#188).

Reads keep DynamoDB Local's figure where it reports one: probed, it follows the guide's "Capacity
unit consumption for read operations" (a consistent GetItem of a 5 KB item is 2, eventually
consistent 1, a missing item 1; a Query rounds its items' total up per 4 KB; a BatchGetItem each
item). But it reports 0 for a Query that finds nothing and for a BatchGetItem's missing keys,
where the guide says a read of an item that does not exist, and a Query with no data, are still
charged: one read (1 consistent, 0.5 eventually consistent) each."""

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from invitations.adapters.dynamo.codec import Usage

KB = 1024
# The writes priced from item sizes; every other call keeps the capacity it reports.
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_CONTEXT = "bench.pricing"  # where a call's touched items wait between its two hooks
_PARAMS = "bench.pricing.params"  # and its request


# -- sizes -------------------------------------------------------------------------------------


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _number(text: str) -> int:
    """1 byte per two significant digits (leading and trailing zeros trimmed), plus 1."""
    digits = "".join(str(d) for d in Decimal(text).as_tuple().digits).strip("0")
    return math.ceil(len(digits) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """The size of one attribute value (its name not included)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return _utf8(raw)
    if kind == "N":
        return _number(raw)
    if kind == "B":
        return len(raw)  # the raw bytes, not their base64
    if kind in ("NULL", "BOOL"):
        return 1
    if kind == "SS":
        return sum(_utf8(s) for s in raw)
    if kind == "NS":
        return sum(_number(n) for n in raw)
    if kind == "BS":
        return sum(len(b) for b in raw)
    # A List or Map: 3 bytes, and 1 byte more per element; a Map's keys count as names.
    elements = raw.items() if kind == "M" else (("", v) for v in raw)
    return 3 + sum(_utf8(name) + value_size(v) + 1 for name, v in elements)


def item_size(item: dict[str, Any] | None) -> int:
    """The item's attribute names' and values' sizes; 0 for no item."""
    return sum(_utf8(name) + value_size(v) for name, v in (item or {}).items())


def write_units(size: int) -> int:
    """Writes are rounded up per 1 KB; a write of nothing (a missing item) still costs 1."""
    return max(1, math.ceil(size / KB))


def _one_read(request: dict[str, Any]) -> float:
    return 1.0 if request.get("ConsistentRead") else 0.5


def read_units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> float:
    """A read's capacity: DynamoDB Local's figure, and at least one read per Query or Scan page
    and per key a BatchGetItem did not find (DynamoDB Local counts those as nothing)."""
    reported = Usage()
    reported.add(response)
    units = reported.capacity_units
    if operation in ("Query", "Scan"):
        return max(units, _one_read(params))
    if operation == "BatchGetItem":
        for table, request in params["RequestItems"].items():
            found = len(response.get("Responses", {}).get(table, []))
            left = len((response.get("UnprocessedKeys") or {}).get(table, {}).get("Keys", []))
            units += (len(request["Keys"]) - found - left) * _one_read(request)
    return units


# -- the table's indexes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()

    def entry(self, item: dict[str, Any] | None, table_keys: tuple[str, ...]) -> dict[str, Any] | None:
        """The item's entry in this (sparse) index: None when it lacks a key of the index."""
        if item is None or any(k not in item for k in self.keys):
            return None
        if self.projection == "ALL":
            return item
        kept = set(table_keys) | set(self.keys) | set(self.included)
        return {k: v for k, v in item.items() if k in kept}


@dataclass(frozen=True)
class Schema:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    @classmethod
    def of(cls, table: dict[str, Any]) -> "Schema":
        """From DescribeTable's `Table`."""

        def names(key_schema: list[dict[str, str]]) -> tuple[str, ...]:
            return tuple(k["AttributeName"] for k in key_schema)

        indexes = tuple(
            Index(
                gsi["IndexName"],
                names(gsi["KeySchema"]),
                gsi["Projection"]["ProjectionType"],
                tuple(gsi["Projection"].get("NonKeyAttributes", ())),
            )
            for gsi in table.get("GlobalSecondaryIndexes", []) + table.get("LocalSecondaryIndexes", [])
        )
        return cls(names(table["KeySchema"]), indexes)

    def key(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.keys}

    def index_units(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
        """What a write's change of an item costs in its indexes: an entry added or removed is a
        write of it, a moved key a delete and a put, a changed entry a write of the larger."""
        units = 0
        for index in self.indexes:
            old, new = index.entry(before, self.keys), index.entry(after, self.keys)
            if old is None and new is None:
                continue
            if old is None or new is None:
                units += write_units(item_size(old or new))
            elif any(old[k] != new[k] for k in index.keys):
                units += write_units(item_size(old)) + write_units(item_size(new))
            elif old != new:
                units += write_units(max(item_size(old), item_size(new)))
        return units


def price_write(
    schema: Schema,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    transactional: bool = False,
    check: bool = False,
) -> int:
    """One item's write as DynamoDB bills it: the larger of the item before and after, twice in
    a transaction, plus its indexes' writes. `check`: a ConditionCheck (its item, twice; it
    changes no index)."""
    table = write_units(max(item_size(before), item_size(after))) * (2 if transactional else 1)
    return table if check else table + schema.index_units(before, after)


# -- the meter ----------------------------------------------------------------------------------


@dataclass
class Bill:
    """What the calls made while a meter measured cost."""

    priced: bool = True  # False: only what DynamoDB Local reports (no reads of the bench's own)
    units: float = 0.0  # as DynamoDB bills it
    reported: Usage = field(default_factory=Usage)  # DynamoDB Local's figure and the items read
    refused: int = 0  # writes refused by their condition (a transaction: cancelled)
    seconds: float = 0.0  # spent reading items to price them: the bench's time, not the code's


@dataclass(frozen=True)
class _Write:
    table: str
    kind: str  # Put, Update, Delete or ConditionCheck
    key: dict[str, Any]
    item: dict[str, Any] | None  # a Put's new item


class Meter:
    """Prices every call a client makes while `measure` is on (botocore's before-parameter-build
    and after-call hooks), reading the items a write touches before and after it with `reader`,
    a client of its own (so those reads are never metered)."""

    def __init__(self, client: Any, reader: Any) -> None:
        self.client, self.reader = client, reader
        self._schemas: dict[str, Schema] = {}
        self._bill: Bill | None = None
        client.meta.events.register("before-parameter-build.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    @contextlib.contextmanager
    def measure(self, priced: bool = True) -> Iterator[Bill]:
        self._bill = Bill(priced)
        try:
            yield self._bill
        finally:
            self._bill = None

    def schema(self, table: str) -> Schema:
        if table not in self._schemas:
            self._schemas[table] = Schema.of(self.reader.describe_table(TableName=table)["Table"])
        return self._schemas[table]

    def _writes(self, operation: str, params: dict[str, Any]) -> list[_Write]:
        if operation == "TransactWriteItems":
            return [
                self._write(kind, request) for action in params["TransactItems"] for kind, request in action.items()
            ]
        if operation == "BatchWriteItem":
            return [
                self._write(kind.removesuffix("Request"), {"TableName": table, **request})
                for table, requests in params["RequestItems"].items()
                for r in requests
                for kind, request in r.items()
            ]
        return [self._write(operation.removesuffix("Item"), params)]

    def _write(self, kind: str, request: dict[str, Any]) -> _Write:
        table, item = request["TableName"], request.get("Item")
        return _Write(table, kind, self.schema(table).key(item or request["Key"]), item)

    def _images(self, writes: list[_Write]) -> list[dict[str, Any] | None]:
        """The touched items as stored now (consistent reads), in the order of `writes`."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        pending: dict[str, Any] = {}
        for w in writes:
            pending.setdefault(w.table, {"Keys": [], "ConsistentRead": True})["Keys"].append(w.key)
        while pending:
            response = self.reader.batch_get_item(RequestItems=pending)
            for table, items in response["Responses"].items():
                for item in items:
                    found[table, repr(self.schema(table).key(item))] = item
            pending = response.get("UnprocessedKeys") or {}
        return [found.get((w.table, repr(w.key))) for w in writes]

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        bill = self._bill
        if bill is None:
            return
        params.setdefault("ReturnConsumedCapacity", "TOTAL")  # every call's reported figure
        context[_PARAMS] = params
        if bill.priced and model.name in WRITES:
            started = time.perf_counter()
            writes = self._writes(model.name, params)
            context[_CONTEXT] = writes, self._images(writes)
            bill.seconds += time.perf_counter() - started

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        bill = self._bill
        if bill is None:
            return
        refused = http_response.status_code >= 300
        params = context.pop(_PARAMS, {})
        if not refused:
            bill.reported.add(parsed)
            if model.name not in WRITES:
                bill.units += read_units(model.name, params, parsed)
        touched = context.pop(_CONTEXT, None)
        if touched is None:
            return
        writes, before = touched
        started = time.perf_counter()
        if refused:
            bill.refused += 1
            # A refused conditional write costs its existing item's units (or 1); a cancelled
            # transaction wrote nothing (and DynamoDB returns no capacity for it).
            if model.name != "TransactWriteItems":
                bill.units += sum(write_units(item_size(b)) for b in before)
        else:
            bill.units += self._price(model.name, parsed, writes, before)
        bill.seconds += time.perf_counter() - started

    def _price(
        self, operation: str, parsed: dict[str, Any], writes: list[_Write], before: list[dict[str, Any] | None]
    ) -> int:
        left = self._writes("BatchWriteItem", {"RequestItems": parsed.get("UnprocessedItems") or {}})
        unprocessed = {(w.table, repr(w.key)) for w in left}
        after = self._images(writes)
        return sum(
            price_write(
                self.schema(w.table),
                b,
                a,
                transactional=operation == "TransactWriteItems",
                check=w.kind == "ConditionCheck",
            )
            for w, b, a in zip(writes, before, after, strict=True)
            if (w.table, repr(w.key)) not in unprocessed
        )
