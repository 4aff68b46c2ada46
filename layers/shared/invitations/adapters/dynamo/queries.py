"""The read side: a clinician's invitations newest sent first (all, or by stored status), the
name search, a batch of invitations by id, the expiry index, an invitation's history and the
outbox entries not done yet."""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from invitations.adapters.dynamo import items, name_index
from invitations.adapters.dynamo.codec import dump
from invitations.adapters.dynamo.table import Table
from invitations.clock import iso
from invitations.domain.history import HistoryEntry
from invitations.domain.invitation import Invitation


class DynamoQueries:
    def __init__(self, table: Table) -> None:
        self._table = table

    def _invitations(self, query: dict[str, Any], page_size: int) -> Iterator[Invitation]:
        for raw in self._table.query(query, page_size):
            invitation = items.invitation_from(raw)
            if invitation is not None:
                yield invitation

    def list_invitations(
        self,
        clinician_id: str,
        stored_status: str | None,
        before: str | None,
        limit: int,
        expired_by: datetime | None = None,
        live_at: datetime | None = None,
        delivery: str | None = None,
    ) -> list[Invitation]:
        """Newest sent first, strictly before the `before` sort key; optionally only those whose
        expiry has passed (`expired_by`) or not (`live_at`), or whose delivery has a status (read
        from its own index: the reads grow with the matching invitations, not with all)."""
        filters: list[str] = []
        values: dict[str, Any] = {}
        if delivery is not None:
            index, pk_name, sk_name = "ByDelivery", "gsi3pk", "gsi3sk"
            values[":pk"] = f"CLIN#{clinician_id}#{delivery}"
            if stored_status is not None:
                filters.append("#status = :status")
                values[":status"] = stored_status
        elif stored_status is None:
            index, pk_name, sk_name = "ByClinician", "gsi1pk", "gsi1sk"
            values[":pk"] = f"CLIN#{clinician_id}"
        else:
            index, pk_name, sk_name = "ByStatus", "gsi2pk", "gsi2sk"
            values[":pk"] = f"CLIN#{clinician_id}#{stored_status}"
        condition = f"{pk_name} = :pk" + (f" AND {sk_name} < :before" if before else "")
        if before:
            values[":before"] = before
        query: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": condition, "ScanIndexForward": False}
        if expired_by is not None:
            filters.append("expires_at <= :now")
            values[":now"] = iso(expired_by)
        if live_at is not None:
            filters.append("expires_at > :now")
            values[":now"] = iso(live_at)
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
            if "#status = :status" in filters:
                query["ExpressionAttributeNames"] = {"#status": "status"}
        query["ExpressionAttributeValues"] = dump(values)
        found: list[Invitation] = []
        for invitation in self._invitations(query, page_size=limit):
            found.append(invitation)
            if len(found) >= limit:
                break
        return found

    def search_names(self, clinician_id: str, prefixes: Sequence[str]) -> dict[str, str]:
        return name_index.search(self._table, clinician_id, prefixes)

    def get_invitations(self, invitation_ids: Sequence[str]) -> list[Invitation]:
        """Several invitations by id, in no particular order; deleted ones are left out."""
        raws = self._table.batch_get([items.invitation_key(i) for i in invitation_ids])
        found = (items.invitation_from(raw) for raw in raws)
        return [inv for inv in found if inv is not None and inv.stored_status != "deleted"]

    def overdue(self, now: datetime, page_size: int = 100) -> Iterator[Invitation]:
        """Pending invitations whose expiry has passed: reads grow with their number only."""
        bound = iso(now) + "$"  # '$' sorts after '#', so expiries equal to now are included
        for shard in range(items.DUE_SHARDS):
            query = {
                "IndexName": "Due",
                "KeyConditionExpression": "due_pk = :pk AND due_sk < :bound",
                "ExpressionAttributeValues": dump({":pk": f"DUE#{shard}", ":bound": bound}),
            }
            yield from self._invitations(query, page_size)

    def reminders_due(self, now: datetime, page_size: int = 100) -> Iterator[Invitation]:
        """Pending invitations whose link's reminder is due: reads grow with them only."""
        for shard in range(items.DUE_SHARDS):
            query = {
                "IndexName": "Remind",
                "KeyConditionExpression": "remind_pk = :pk AND remind_sk < :bound",
                "ExpressionAttributeValues": dump({":pk": f"REMIND#{shard}", ":bound": iso(now) + "$"}),
            }
            yield from self._invitations(query, page_size)

    def history(self, invitation_id: str) -> list[HistoryEntry]:
        return [items.history_from(raw) for raw in self._table.query(items.history_query(invitation_id), 100)]

    def undone_outbox(self, created_before: datetime, page_size: int = 100) -> Iterator[tuple[str, str]]:
        """Entries not done, oldest first per shard: reads grow with them only (a sparse index)."""
        for shard in range(items.UNDONE_SHARDS):
            query = {
                "IndexName": "Undone",
                "KeyConditionExpression": "undone_pk = :pk AND undone_sk < :before",
                "ExpressionAttributeValues": dump({":pk": f"UNDONE#{shard}", ":before": iso(created_before)}),
            }
            for raw in self._table.query(query, page_size):
                yield raw["pk"]["S"].removeprefix("INV#"), raw["sk"]["S"].removeprefix("OUT#")
