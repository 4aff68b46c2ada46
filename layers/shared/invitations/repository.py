"""The one module that speaks DynamoDB. Single-table layout (see docs/data-model.md):

  INV#<id> / INV        the invitation; GSIs: ByClinician (all, newest sent first),
                        ByStatus (per stored status), Due (sparse: pending only, by expiry)
  NAME#<clinician> / <word>#<id>   one small item per name word: prefix search
  PAT#<id> / PAT        the patient record; ByClinician under CLINPAT#<clinician>

Every change is a write conditioned on the entity's revision, so concurrent transitions
serialise: exactly one wins and the others re-read and re-apply the rules.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from invitations.clock import iso, parse_iso
from invitations.domain import DeliveryOutcome, Invitation, Patient, is_id
from invitations.text import name_words

DUE_SHARDS = 4  # spreads the sparse expiry index's writes over a few partitions
MAX_INDEXED_WORDS = 16  # keeps every transaction far below DynamoDB's 100-item limit
_INVITATION_FIELDS = (
    *("id", "clinician_id", "clinician_name", "first_name", "last_name", "email", "phone", "locale"),
    *("status", "link_version", "created_at", "sent_at", "expires_at", "delivery", "send_count"),
    *("recent_sends", "accepted_at", "patient_id", "deleted_at", "rev"),
)
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class ConcurrentChange(Exception):
    """A conditional write lost against another writer: re-read and decide again."""


@dataclass
class Usage:
    """Read/write cost as DynamoDB reports it (for benchmarks and logs)."""

    capacity_units: float = 0.0
    items_read: int = 0

    def add(self, response: dict[str, Any]) -> None:
        consumed = response.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            self.capacity_units += float(entry.get("CapacityUnits", 0))
        if "ScannedCount" in response:
            self.items_read += int(response["ScannedCount"])
        elif "Item" in response:
            self.items_read += 1
        elif "Responses" in response:
            self.items_read += sum(len(v) for v in response["Responses"].values())


def _dump(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def _value(attribute: dict[str, Any]) -> Any:
    """One attribute value, decoded directly for the types this service writes: boto3's generic
    TypeDeserializer was half of a listing's CPU time. Numbers here are counters: ints."""
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else Decimal(value)
    if kind == "M":
        return {k: _value(v) for k, v in value.items()}
    if kind == "L":
        return [_value(v) for v in value]
    if kind == "NULL":
        return None
    return _deserializer.deserialize(attribute)  # BOOL, sets, binary: never written by this service


def _load(raw: dict[str, Any], fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The item's attributes (or only `fields`, those it has), decoded."""
    if fields is None:
        return {k: _value(v) for k, v in raw.items()}
    return {k: _value(raw[k]) for k in fields if k in raw}


def _opt_time(value: str | None) -> datetime | None:
    return parse_iso(value) if value else None


def sent_key(invitation: Invitation) -> str:
    return f"{iso(invitation.sent_at)}#{invitation.id}"


def _invitation_key(invitation_id: str) -> dict[str, Any]:
    return _dump({"pk": f"INV#{invitation_id}", "sk": "INV"})


def _patient_key(patient_id: str) -> dict[str, Any]:
    return _dump({"pk": f"PAT#{patient_id}", "sk": "PAT"})


def _indexed_words(invitation: Invitation) -> set[str]:
    return set(sorted(name_words(invitation.first_name, invitation.last_name))[:MAX_INDEXED_WORDS])


class DynamoRepository:
    def __init__(self, client: Any, table_name: str, retention: timedelta) -> None:
        self._db = client
        self._table = table_name
        self._retention = retention
        self.usage = Usage()

    # -- mapping ---------------------------------------------------------------------------

    def _invitation_item(self, inv: Invitation) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"INV#{inv.id}",
            "sk": "INV",
            "type": "invitation",
            "id": inv.id,
            "clinician_id": inv.clinician_id,
            "clinician_name": inv.clinician_name,
            "first_name": inv.first_name,
            "last_name": inv.last_name,
            "email": inv.email,
            "phone": inv.phone,
            "locale": inv.locale,
            "status": inv.stored_status,
            "link_version": inv.link_version,
            "created_at": iso(inv.created_at),
            "sent_at": iso(inv.sent_at),
            "expires_at": iso(inv.expires_at),
            "delivery": {"status": inv.delivery.status, "at": iso(inv.delivery.at), "detail": inv.delivery.detail},
            "send_count": inv.send_count,
            "recent_sends": [iso(t) for t in inv.recent_sends],
            "accepted_at": iso(inv.accepted_at) if inv.accepted_at else None,
            "patient_id": inv.patient_id,
            "deleted_at": iso(inv.deleted_at) if inv.deleted_at else None,
            "rev": inv.rev,
        }
        item["delivery"] = {k: v for k, v in item["delivery"].items() if v is not None}
        if inv.stored_status == "deleted":
            # Out of every index; DynamoDB's TTL removes the tombstone after the retention period.
            assert inv.deleted_at is not None
            item["ttl"] = int((inv.deleted_at + self._retention).timestamp())
            return item
        key = sent_key(inv)
        item.update(gsi1pk=f"CLIN#{inv.clinician_id}", gsi1sk=key)
        item.update(gsi2pk=f"CLIN#{inv.clinician_id}#{inv.stored_status}", gsi2sk=key)
        if inv.stored_status == "pending":
            shard = int(inv.id[-2:], 16) % DUE_SHARDS
            item.update(due_pk=f"DUE#{shard}", due_sk=f"{iso(inv.expires_at)}#{inv.id}")
        if inv.stored_status == "expired":
            item["ttl"] = self._expired_ttl(inv)
        return item

    def _expired_ttl(self, inv: Invitation) -> int:
        """When DynamoDB's TTL may remove an expired invitation and its name entries (nothing
        relies on when it does: an expired invitation reads as expired either way)."""
        return int((inv.expires_at + self._retention).timestamp())

    @staticmethod
    def _invitation(item: dict[str, Any]) -> Invitation:
        d = _load(item, _INVITATION_FIELDS)  # not the keys and index keys: a listing decodes many
        delivery = d["delivery"]
        return Invitation(
            id=d["id"],
            clinician_id=d["clinician_id"],
            clinician_name=d["clinician_name"],
            first_name=d["first_name"],
            last_name=d["last_name"],
            email=d.get("email"),
            phone=d.get("phone"),
            locale=d["locale"],
            stored_status=d["status"],
            link_version=d["link_version"],
            created_at=parse_iso(d["created_at"]),
            sent_at=parse_iso(d["sent_at"]),
            expires_at=parse_iso(d["expires_at"]),
            delivery=DeliveryOutcome(delivery["status"], parse_iso(delivery["at"]), delivery.get("detail")),
            send_count=d["send_count"],
            recent_sends=tuple(parse_iso(t) for t in d.get("recent_sends", [])),
            accepted_at=_opt_time(d.get("accepted_at")),
            patient_id=d.get("patient_id"),
            deleted_at=_opt_time(d.get("deleted_at")),
            rev=d["rev"],
        )

    @staticmethod
    def _patient_item(p: Patient) -> dict[str, Any]:
        return {
            "pk": f"PAT#{p.id}",
            "sk": "PAT",
            "type": "patient",
            "id": p.id,
            "clinician_id": p.clinician_id,
            "invitation_id": p.invitation_id,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "email": p.email,
            "phone": p.phone,
            "thread": p.thread,
            "created_at": iso(p.created_at),
            "updated_at": iso(p.updated_at),
            "left_at": iso(p.left_at) if p.left_at else None,
            "rev": p.rev,
            "gsi1pk": f"CLINPAT#{p.clinician_id}",
            "gsi1sk": f"{iso(p.created_at)}#{p.id}",
        }

    @staticmethod
    def _patient(item: dict[str, Any]) -> Patient:
        d = _load(item)
        return Patient(
            id=d["id"],
            clinician_id=d["clinician_id"],
            invitation_id=d["invitation_id"],
            first_name=d["first_name"],
            last_name=d["last_name"],
            email=d.get("email"),
            phone=d.get("phone"),
            created_at=parse_iso(d["created_at"]),
            updated_at=parse_iso(d["updated_at"]),
            thread=d["thread"],
            left_at=_opt_time(d.get("left_at")),
            rev=d["rev"],
        )

    def _name_item(self, inv: Invitation, word: str) -> dict[str, Any]:
        # An expired invitation's name entries go with it: no fragment of a name outlives it.
        return _dump(
            {
                "pk": f"NAME#{inv.clinician_id}",
                "sk": f"{word}#{inv.id}",
                "invitation_id": inv.id,
                "sent_key": sent_key(inv),
                "ttl": self._expired_ttl(inv) if inv.stored_status == "expired" else None,
            }
        )

    def _name_key(self, inv: Invitation, word: str) -> dict[str, Any]:
        return _dump({"pk": f"NAME#{inv.clinician_id}", "sk": f"{word}#{inv.id}"})

    # -- invitations -------------------------------------------------------------------------

    def get_invitation(self, invitation_id: str) -> Invitation | None:
        if not is_id(invitation_id):
            return None  # no such key can exist (and an oversized one would be refused by DynamoDB)
        response = self._db.get_item(
            TableName=self._table,
            Key=_invitation_key(invitation_id),
            ConsistentRead=True,
            ReturnConsumedCapacity="TOTAL",
        )
        self.usage.add(response)
        item = response.get("Item")
        return self._invitation(item) if item and item.get("type", {}).get("S") == "invitation" else None

    def save_invitation(
        self, new: Invitation, previous: Invitation | None, patient: Patient | None = None
    ) -> Invitation:
        """Write `new` if the stored revision is still `previous`'s; returns what was stored."""
        stored = replace(new, rev=(previous.rev + 1) if previous else 0)
        put: dict[str, Any] = {"TableName": self._table, "Item": _dump(self._invitation_item(stored))}
        if previous is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "rev = :rev"
            put["ExpressionAttributeValues"] = _dump({":rev": previous.rev})
        others = self._name_index_changes(stored, previous)
        if patient is not None:
            others.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _dump(self._patient_item(patient)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        if not others:
            self._write(lambda: self._db.put_item(**put, ReturnConsumedCapacity="TOTAL"))
        else:
            items = [{"Put": put}, *others]
            self._write(lambda: self._db.transact_write_items(TransactItems=items, ReturnConsumedCapacity="TOTAL"))
        return stored

    def _name_index_changes(self, new: Invitation, previous: Invitation | None) -> list[dict[str, Any]]:
        old_words = _indexed_words(previous) if previous and previous.stored_status != "deleted" else set()
        new_words = _indexed_words(new) if new.stored_status != "deleted" else set()
        # Every entry is written again when what it carries changes: the sent time, or the TTL.
        moved = previous is not None and (
            sent_key(previous) != sent_key(new)
            or (previous.stored_status == "expired") != (new.stored_status == "expired")
        )
        changes: list[dict[str, Any]] = []
        for word in sorted(old_words - new_words):
            changes.append({"Delete": {"TableName": self._table, "Key": self._name_key(new, word)}})
        for word in sorted(new_words if moved else new_words - old_words):
            changes.append({"Put": {"TableName": self._table, "Item": self._name_item(new, word)}})
        return changes

    def _write(self, call: Any) -> None:
        try:
            self.usage.add(call())
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in {
                "ConditionalCheckFailedException",
                "TransactionCanceledException",
                "TransactionConflictException",
            }:
                raise ConcurrentChange() from None
            raise

    def list_invitations(
        self,
        clinician_id: str,
        stored_status: str | None,
        before: str | None,
        limit: int,
        expired_by: datetime | None = None,
        live_at: datetime | None = None,
    ) -> list[Invitation]:
        """Newest sent first, strictly before the `before` sort key; optionally only those
        whose expiry has passed (`expired_by`) or not (`live_at`)."""
        if stored_status is None:
            index, pk_name, sk_name, pk = "ByClinician", "gsi1pk", "gsi1sk", f"CLIN#{clinician_id}"
        else:
            index, pk_name, sk_name, pk = "ByStatus", "gsi2pk", "gsi2sk", f"CLIN#{clinician_id}#{stored_status}"
        condition = f"{pk_name} = :pk" + (f" AND {sk_name} < :before" if before else "")
        values: dict[str, Any] = {":pk": pk}
        if before:
            values[":before"] = before
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
        }
        if expired_by is not None:
            query["FilterExpression"] = "expires_at <= :now"
            values[":now"] = iso(expired_by)
        if live_at is not None:
            query["FilterExpression"] = "expires_at > :now"
            values[":now"] = iso(live_at)
        query["ExpressionAttributeValues"] = _dump(values)
        found: list[Invitation] = []
        for raw in self._query(query, page_size=limit):
            found.append(self._invitation(raw))
            if len(found) >= limit:
                break
        return found

    def _query(self, query: dict[str, Any], page_size: int) -> Iterator[dict[str, Any]]:
        for items, _ in self._pages(query, page_size):
            yield from items

    def _pages(
        self, query: dict[str, Any], page_size: int, growing: bool = False
    ) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """A query's pages as (items, exhausted); `growing` doubles the page size each time."""
        start: dict[str, Any] | None = None
        while True:
            page = dict(query, Limit=page_size, ReturnConsumedCapacity="TOTAL")
            if start:
                page["ExclusiveStartKey"] = start
            response = self._db.query(**page)
            self.usage.add(response)
            start = response.get("LastEvaluatedKey")
            yield response.get("Items", []), start is None
            if not start:
                return
            if growing:
                page_size = min(page_size * 2, 1000)

    def search_names(self, clinician_id: str, prefixes: Sequence[str]) -> dict[str, str]:
        """invitation id -> its sent key, for every name word starting with the most selective of
        `prefixes` (the caller checks the other words on the invitations themselves).

        Which word is rarest is unknown until read: the words' entries are read in turn, a page
        at a time (8 entries, then doubling), and the first word whose entries run out is the
        one used. Reads stay within (number of words) x (the rarest word's entries + a page),
        whatever the clinician's history; a single word is read in pages of 1,000."""
        words = list(dict.fromkeys(prefixes))
        first_page = 1000 if len(words) == 1 else 8
        readers = {
            word: self._pages(
                {
                    "TableName": self._table,
                    "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                    "ExpressionAttributeValues": _dump({":pk": f"NAME#{clinician_id}", ":prefix": word}),
                },
                first_page,
                growing=True,
            )
            for word in words
        }
        found: dict[str, dict[str, str]] = {word: {} for word in words}
        while True:
            for word, reader in readers.items():
                entries, exhausted = next(reader)
                found[word].update((e["invitation_id"]["S"], e["sent_key"]["S"]) for e in entries)
                if exhausted:
                    return found[word]

    def get_invitations(self, invitation_ids: Sequence[str]) -> list[Invitation]:
        """Several invitations by id (one BatchGetItem per 100), in no particular order."""
        found: list[Invitation] = []
        for start in range(0, len(invitation_ids), 100):
            keys = [_invitation_key(i) for i in invitation_ids[start : start + 100]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self._db.batch_get_item(RequestItems=request, ReturnConsumedCapacity="TOTAL")
                self.usage.add(response)
                found.extend(self._invitation(item) for item in response["Responses"].get(self._table, []))
                request = response.get("UnprocessedKeys") or {}
        return [inv for inv in found if inv.stored_status != "deleted"]

    def overdue(self, now: datetime, page_size: int = 100) -> Iterator[Invitation]:
        """Pending invitations whose expiry has passed: reads grow with their number only."""
        bound = iso(now) + "$"  # '$' sorts after '#', so expiries equal to now are included
        for shard in range(DUE_SHARDS):
            query = {
                "TableName": self._table,
                "IndexName": "Due",
                "KeyConditionExpression": "due_pk = :pk AND due_sk < :bound",
                "ExpressionAttributeValues": _dump({":pk": f"DUE#{shard}", ":bound": bound}),
            }
            for raw in self._query(query, page_size=page_size):
                yield self._invitation(raw)

    # -- patients ----------------------------------------------------------------------------

    def get_patient(self, patient_id: str) -> Patient | None:
        if not is_id(patient_id):
            return None
        response = self._db.get_item(
            TableName=self._table, Key=_patient_key(patient_id), ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
        )
        self.usage.add(response)
        item = response.get("Item")
        return self._patient(item) if item and item.get("type", {}).get("S") == "patient" else None

    def save_patient(self, new: Patient, previous: Patient) -> Patient:
        stored = replace(new, rev=previous.rev + 1)
        self._write(
            lambda: self._db.put_item(
                TableName=self._table,
                Item=_dump(self._patient_item(stored)),
                ConditionExpression="rev = :rev",
                ExpressionAttributeValues=_dump({":rev": previous.rev}),
                ReturnConsumedCapacity="TOTAL",
            )
        )
        return stored
