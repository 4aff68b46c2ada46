"""The table: one client, one name, one cost meter, shared by the unit of work and the queries."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from invitations.adapters.dynamo.codec import Usage
from invitations.domain.errors import ConcurrentChange

_LOST_RACE = {"ConditionalCheckFailedException", "TransactionCanceledException", "TransactionConflictException"}


@dataclass
class Table:
    """The service's one table: consistent reads, conditional writes, query pages; the capacity they used."""

    client: Any
    name: str
    retention: timedelta  # how long expired and deleted invitations are kept before TTL removes them
    usage: Usage = field(default_factory=Usage)

    def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.name, Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
        )
        self.usage.add(response)
        item: dict[str, Any] | None = response.get("Item")
        return item

    def write(self, operations: list[dict[str, Any]]) -> None:
        """One conditional PutItem (or UpdateItem) when a change touches one item; else one
        TransactWriteItems (DynamoDB bills a transactional write twice, so it is used only when
        needed). A failed condition raises ConcurrentChange."""
        try:
            if len(operations) == 1 and operations[0].keys() & {"Put", "Update"}:
                ((kind, operation),) = operations[0].items()
                call = self.client.put_item if kind == "Put" else self.client.update_item
                self.usage.add(call(**dict(operation, TableName=self.name), ReturnConsumedCapacity="TOTAL"))
            else:
                items = [{kind: dict(op, TableName=self.name) for kind, op in o.items()} for o in operations]
                response = self.client.transact_write_items(TransactItems=items, ReturnConsumedCapacity="TOTAL")
                self.usage.add(response, transactional=True)
        except ClientError as error:
            if error.response["Error"]["Code"] in _LOST_RACE:
                raise ConcurrentChange() from None
            raise

    def pages(
        self, query: dict[str, Any], page_size: int, growing: bool = False
    ) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """A query's pages as (items, exhausted); `growing` doubles the page size each time."""
        start: dict[str, Any] | None = None
        while True:
            page = dict(query, TableName=self.name, Limit=page_size, ReturnConsumedCapacity="TOTAL")
            if start:
                page["ExclusiveStartKey"] = start
            response = self.client.query(**page)
            self.usage.add(response)
            start = response.get("LastEvaluatedKey")
            yield response.get("Items", []), start is None
            if not start:
                return
            if growing:
                page_size = min(page_size * 2, 1000)

    def query(self, query: dict[str, Any], page_size: int) -> Iterator[dict[str, Any]]:
        for items, _ in self.pages(query, page_size):
            yield from items

    def batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Items by key (one BatchGetItem per 100, unprocessed keys retried), in no order."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {self.name: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            while request:
                response = self.client.batch_get_item(RequestItems=request, ReturnConsumedCapacity="TOTAL")
                self.usage.add(response)
                found.extend(response["Responses"].get(self.name, []))
                request = response.get("UnprocessedKeys") or {}
        return found
