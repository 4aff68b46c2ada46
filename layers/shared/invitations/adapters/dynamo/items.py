"""The one mapping of an invitation and a patient to items and back, with their keys and the
index attributes that place them (docs/data-model.md):

  INV#<id> / INV   the invitation; ByClinician (all, newest sent first), ByStatus (per stored
                   status), ByDelivery (per delivery status), Due (sparse: pending only, by expiry),
                   Remind (sparse: a reminder not sent yet, by when it is due)
  PAT#<id> / PAT   the patient record; ByClinician under CLINPAT#<clinician>
  INV#<id> / OUT#<event id>              an outbox entry; Undone (sparse: until done, by age)
  INV#<id> / HIST#<at>#<entry id>        a history entry; `ttl` the invitation's (kept as long as it)
  QUOTA#<kind>#<ids and pseudonyms> / QUOTA   a send count over the last 24 hours
  MSG#<provider message id> / MSG        which invitation and link a message carried (its reports)
  INV#<id> / REPORT#<report id>          a provider report already applied
Every item of an invitation shares its partition: one query reaches (or erases) them all.

An entity's attributes are its dataclass fields, converted by type (mapping.py): a new field
needs no change here."""

from __future__ import annotations

import dataclasses
import importlib
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from invitations.adapters.dynamo.codec import dump
from invitations.adapters.dynamo.mapping import Mapper
from invitations.clock import iso
from invitations.domain.invitation import Invitation, retained_until, sent_key
from invitations.domain.rules import SEND_WINDOW

if TYPE_CHECKING:
    from invitations.domain.delivery import SentMessage
    from invitations.domain.events import DomainEvent
    from invitations.domain.history import HistoryEntry
    from invitations.domain.outbox import OutboxEntry
    from invitations.domain.patient import Patient
    from invitations.domain.quotas import Quota

DUE_SHARDS = 4  # spreads the sparse expiry index's writes over a few partitions

# kind -> (its module in invitations.domain, its entity, fields renamed, fields kept apart)
_ENTITIES: dict[str, tuple[str, str, dict[str, str], frozenset[str]]] = {
    "invitation": ("invitation", "Invitation", {"stored_status": "status"}, frozenset()),
    "patient": ("patient", "Patient", {}, frozenset()),
    "outbox": ("outbox", "OutboxEntry", {}, frozenset()),
    "history": ("history", "HistoryEntry", {"type": "history_type"}, frozenset({"kept_until"})),  # as `ttl`
    "quota": ("quotas", "Quota", {}, frozenset()),
    "message": ("delivery", "SentMessage", {}, frozenset()),
}


@cache
def _mapper(kind: str) -> Mapper[Any]:
    """A kind's mapper, built on its first use with its entity's module imported then: a function
    loads only the entities it reads or stores (each is dataclasses to create at a cold start)."""
    module, entity, renamed, apart = _ENTITIES[kind]
    return Mapper(getattr(importlib.import_module(f"invitations.domain.{module}"), entity), renamed, apart)


UNDONE_SHARDS = 4  # spreads the sparse Undone index's writes over a few partitions


def invitation_key(invitation_id: str) -> dict[str, Any]:
    return dump({"pk": f"INV#{invitation_id}", "sk": "INV"})


def patient_key(patient_id: str) -> dict[str, Any]:
    return dump({"pk": f"PAT#{patient_id}", "sk": "PAT"})


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def retention_ttl(inv: Invitation, retention: timedelta) -> int | None:
    """When DynamoDB's TTL may remove a deleted or expired invitation and what it keeps (nothing
    relies on when it does: a deleted invitation is invisible, an expired one reads as expired)."""
    return _epoch(retained_until(inv, retention))


def invitation_item(inv: Invitation, retention: timedelta) -> dict[str, Any]:
    item = {"pk": f"INV#{inv.id}", "sk": "INV", "type": "invitation", **_mapper("invitation").to_item(inv)}
    item["ttl"] = retention_ttl(inv, retention)  # deleted or expired: removed after the retention period
    if inv.stored_status == "deleted":
        return dump(item)  # out of every index
    key = sent_key(inv)
    item.update(gsi1pk=f"CLIN#{inv.clinician_id}", gsi1sk=key)
    item.update(gsi2pk=f"CLIN#{inv.clinician_id}#{inv.stored_status}", gsi2sk=key)
    item.update(gsi3pk=f"CLIN#{inv.clinician_id}#{inv.delivery.status}", gsi3sk=key)  # ?delivery=
    if inv.stored_status == "pending":
        shard = int(inv.id[-2:], 16) % DUE_SHARDS
        item.update(due_pk=f"DUE#{shard}", due_sk=f"{iso(inv.expires_at)}#{inv.id}")
        if inv.remind_at is not None and inv.reminded_link != inv.link_version:  # sparse: reminders due
            item.update(remind_pk=f"REMIND#{shard}", remind_sk=f"{iso(inv.remind_at)}#{inv.id}")
    return dump(item)


def invitation_from(raw: dict[str, Any] | None) -> Invitation | None:
    if not raw or raw.get("type", {}).get("S") != "invitation":
        return None
    return _mapper("invitation").from_item(raw)


def patient_item(p: Patient) -> dict[str, Any]:
    item = {"pk": f"PAT#{p.id}", "sk": "PAT", "type": "patient", **_mapper("patient").to_item(p)}
    item.update(gsi1pk=f"CLINPAT#{p.clinician_id}", gsi1sk=f"{iso(p.created_at)}#{p.id}")
    return dump(item)


def patient_from(raw: dict[str, Any] | None) -> Patient | None:
    if not raw or raw.get("type", {}).get("S") != "patient":
        return None
    return _mapper("patient").from_item(raw)


def outbox_key(invitation_id: str, event_id: str) -> dict[str, Any]:
    return dump({"pk": f"INV#{invitation_id}", "sk": f"OUT#{event_id}"})


def outbox_entry(event: DomainEvent) -> OutboxEntry:
    from invitations.domain.outbox import OutboxEntry  # by the functions that store events only

    return OutboxEntry(
        event.invitation_id, event.event_id, event.type, event.detail(), event.occurred_at, event.message
    )


def outbox_item(entry: OutboxEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": f"INV#{entry.invitation_id}", "sk": f"OUT#{entry.event_id}", "type": "outbox"}
    item.update(_mapper("outbox").to_item(entry))
    if entry.done_at is None:  # in the sweeper's index until done
        shard = int(entry.event_id[-2:], 16) % UNDONE_SHARDS
        item.update(undone_pk=f"UNDONE#{shard}", undone_sk=f"{iso(entry.created_at)}#{entry.event_id}")
    else:
        from invitations.domain.outbox import DONE_KEPT_FOR

        item["ttl"] = int((entry.done_at + DONE_KEPT_FOR).timestamp())
    return dump(item)


def outbox_from(raw: dict[str, Any] | None) -> OutboxEntry | None:
    if not raw or raw.get("type", {}).get("S") != "outbox":
        return None
    return _mapper("outbox").from_item(raw)


def history_item(entry: HistoryEntry) -> dict[str, Any]:
    # Sorted by the service's time, then by the moment it was written (two entries in one
    # millisecond keep their order), then by id (unique).
    sk = f"HIST#{iso(entry.at)}#{time.time_ns():020d}#{entry.entry_id}"
    item: dict[str, Any] = {"pk": f"INV#{entry.invitation_id}", "sk": sk, "type": "history"}
    item.update(_mapper("history").to_item(entry), ttl=_epoch(entry.kept_until))  # no ttl: kept while the invitation is
    return dump(item)


def history_from(raw: dict[str, Any]) -> HistoryEntry:
    entry: HistoryEntry = _mapper("history").from_item(raw)
    if "ttl" in raw:
        entry = dataclasses.replace(entry, kept_until=datetime.fromtimestamp(int(raw["ttl"]["N"]), UTC))
    return entry


def history_query(invitation_id: str, consistent: bool = False) -> dict[str, Any]:
    """Every history entry of an invitation, oldest first: one query on its partition."""
    query: dict[str, Any] = {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :hist)",
        "ExpressionAttributeValues": dump({":pk": f"INV#{invitation_id}", ":hist": "HIST#"}),
    }
    return dict(query, ConsistentRead=True) if consistent else query


def history_ttl(raw: dict[str, Any], kept_until: datetime | None) -> dict[str, Any] | None:
    """The write that keeps a stored history entry until then (None: no TTL), only while the entry
    is still there (TTL may have erased it meanwhile); None when it carries that TTL already."""
    ttl = _epoch(kept_until)
    if (int(raw["ttl"]["N"]) if "ttl" in raw else None) == ttl:
        return None
    update: dict[str, Any] = {
        "Key": {"pk": raw["pk"], "sk": raw["sk"]},
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
        "UpdateExpression": "REMOVE #ttl" if ttl is None else "SET #ttl = :ttl",
    }
    if ttl is not None:
        update["ExpressionAttributeValues"] = dump({":ttl": ttl})
    return {"Update": update}


def quota_key(key: str) -> dict[str, Any]:
    return dump({"pk": f"QUOTA#{key}", "sk": "QUOTA"})


def quota_item(quota: Quota) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"QUOTA#{quota.key}",
        "sk": "QUOTA",
        "type": "quota",
        **_mapper("quota").to_item(quota),
    }
    if quota.buckets:  # gone once nothing it counts is inside the window (the longest bucket: an hour)
        item["ttl"] = int((quota.buckets[-1][0] + SEND_WINDOW + timedelta(hours=1)).timestamp())
    return dump(item)


def quota_from(raw: dict[str, Any] | None) -> Quota | None:
    if not raw or raw.get("type", {}).get("S") != "quota":
        return None
    return _mapper("quota").from_item(raw)


MESSAGES_KEPT_FOR = timedelta(days=4)  # SMS receipts can take 72 hours


def message_item(message: SentMessage, now: datetime) -> dict[str, Any]:
    item = {"pk": f"MSG#{message.message_id}", "sk": "MSG", "type": "message", **_mapper("message").to_item(message)}
    item["ttl"] = int((now + MESSAGES_KEPT_FOR).timestamp())
    return dump(item)


def message_key(message_id: str) -> dict[str, Any]:
    return dump({"pk": f"MSG#{message_id}", "sk": "MSG"})


def message_from(raw: dict[str, Any] | None) -> SentMessage | None:
    if not raw or raw.get("type", {}).get("S") != "message":
        return None
    return _mapper("message").from_item(raw)


def report_item(invitation_id: str, report_id: str, now: datetime) -> dict[str, Any]:
    """A report applied: a duplicate finds it and changes nothing."""
    item: dict[str, Any] = {"pk": f"INV#{invitation_id}", "sk": f"REPORT#{report_id}", "type": "report"}
    item["ttl"] = int((now + MESSAGES_KEPT_FOR).timestamp())
    return dump(item)


def report_key(invitation_id: str, report_id: str) -> dict[str, Any]:
    return dump({"pk": f"INV#{invitation_id}", "sk": f"REPORT#{report_id}"})
