"""A change committed at once. The use case reads through the unit of work (consistent reads),
stages what it changes, and `commit` writes it all, each item conditioned on the revision it was
read at: one conditional PutItem when the change touches one item, else one TransactWriteItems.
A lost race raises ConcurrentChange and writes nothing. An event raised is written in the same
commit as an outbox item (the table's stream takes it to the dispatcher) and a history item,
which carries the invitation's retention as the change leaves it (domain/history.py), on
condition that an invitation the change only read is still as read; the dispatcher aligns the
older entries afterwards (`history.align`, written at once, not staged)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from invitations.adapters.dynamo import items, name_index
from invitations.adapters.dynamo.codec import dump
from invitations.domain import history
from invitations.domain.errors import ConcurrentChange
from invitations.domain.ids import is_id

if TYPE_CHECKING:  # annotations only: a read (GET, the patient's page) loads no entity it does not read
    from invitations.adapters.dynamo.table import Table
    from invitations.domain.delivery import SentMessage
    from invitations.domain.events import DomainEvent
    from invitations.domain.history import HistoryEntry
    from invitations.domain.invitation import Invitation
    from invitations.domain.outbox import OutboxEntry
    from invitations.domain.patient import Patient
    from invitations.domain.quotas import Quota


def _put(item: dict[str, Any], previous_rev: int | None) -> dict[str, Any]:
    """A put that succeeds only on a new key, or on the revision the entity was read at."""
    if previous_rev is None:
        return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
    return {
        "Put": {
            "Item": item,
            "ConditionExpression": "rev = :rev",
            "ExpressionAttributeValues": dump({":rev": previous_rev}),
        }
    }


def _unchanged(invitation: Invitation) -> dict[str, Any]:
    """A condition, written nothing: the invitation is still at the revision it was read at."""
    return {
        "ConditionCheck": {
            "Key": items.invitation_key(invitation.id),
            "ConditionExpression": "rev = :rev",
            "ExpressionAttributeValues": dump({":rev": invitation.rev}),
        }
    }


class _Invitations:
    def __init__(self, table: Table, staged: list[dict[str, Any]]) -> None:
        self._table = table
        self._staged = staged
        self._known: dict[str, Invitation] = {}
        self._read: dict[str, Invitation] = {}
        self._written: dict[str, Invitation] = {}

    def known(self, invitation: Invitation) -> None:
        self._known[invitation.id] = invitation

    def get(self, invitation_id: str) -> Invitation | None:
        if invitation_id in self._known:
            found: Invitation | None = self._known[invitation_id]
        elif not is_id(invitation_id):
            return None  # no such key can exist (and an oversized one would be refused by DynamoDB)
        else:
            found = items.invitation_from(self._table.get(items.invitation_key(invitation_id)))
        if found is not None:
            self._read[invitation_id] = found
        return found

    def current(self, invitation_id: str) -> Invitation | None:
        """The invitation as this change leaves it (written, else as read); None if untouched."""
        return self._written.get(invitation_id) or self._read.get(invitation_id)

    def unchanged(self, invitation_id: str) -> Invitation | None:
        """The invitation as read, if this change does not write it."""
        return None if invitation_id in self._written else self._read.get(invitation_id)

    def add(self, invitation: Invitation) -> None:
        self._stage(invitation, None)

    def update(self, new: Invitation, previous: Invitation) -> Invitation:
        return self._stage(replace(new, rev=previous.rev + 1), previous)

    def _stage(self, stored: Invitation, previous: Invitation | None) -> Invitation:
        self._written[stored.id] = stored
        retention = self._table.retention
        self._staged.append(_put(items.invitation_item(stored, retention), previous.rev if previous else None))
        self._staged.extend(name_index.changes(stored, previous, retention))
        return stored


class _Patients:
    def __init__(self, table: Table, staged: list[dict[str, Any]]) -> None:
        self._table = table
        self._staged = staged

    def get(self, patient_id: str) -> Patient | None:
        if not is_id(patient_id):
            return None
        return items.patient_from(self._table.get(items.patient_key(patient_id)))

    def add(self, patient: Patient) -> None:
        self._staged.append(_put(items.patient_item(patient), None))

    def update(self, new: Patient, previous: Patient) -> Patient:
        stored = replace(new, rev=previous.rev + 1)
        self._staged.append(_put(items.patient_item(stored), previous.rev))
        return stored


class _Outbox:
    def __init__(self, table: Table, staged: list[dict[str, Any]]) -> None:
        self._table = table
        self._staged = staged
        self._known: dict[tuple[str, str], OutboxEntry] = {}

    def known(self, entry: OutboxEntry) -> None:
        self._known[entry.invitation_id, entry.event_id] = entry

    def get(self, invitation_id: str, event_id: str) -> OutboxEntry | None:
        if (invitation_id, event_id) in self._known:
            return self._known[invitation_id, event_id]
        return items.outbox_from(self._table.get(items.outbox_key(invitation_id, event_id)))

    def update(self, new: OutboxEntry, previous: OutboxEntry) -> OutboxEntry:
        stored = replace(new, rev=previous.rev + 1)
        self._staged.append(_put(items.outbox_item(stored), previous.rev))
        return stored


class _Quotas:
    def __init__(self, table: Table, staged: list[dict[str, Any]]) -> None:
        self._table = table
        self._staged = staged

    def get(self, key: str) -> Quota | None:
        return items.quota_from(self._table.get(items.quota_key(key)))

    def put(self, new: Quota, previous: Quota | None) -> Quota:
        stored = replace(new, rev=(previous.rev if previous else 0) + 1)
        self._staged.append(_put(items.quota_item(stored), previous.rev if previous else None))
        return stored


class _Messages:
    def __init__(self, table: Table, staged: list[dict[str, Any]]) -> None:
        self._table = table
        self._staged = staged

    def get(self, message_id: str) -> SentMessage | None:
        return items.message_from(self._table.get(items.message_key(message_id)))

    def add(self, message: SentMessage) -> None:
        self._staged.append({"Put": {"Item": items.message_item(message, datetime.now(UTC))}})


class _Reports:
    def __init__(self, table: Table, staged: list[dict[str, Any]]) -> None:
        self._table = table
        self._staged = staged

    def seen(self, invitation_id: str, report_id: str) -> bool:
        return self._table.get(items.report_key(invitation_id, report_id)) is not None

    def add(self, invitation_id: str, report_id: str) -> None:
        # Conditional: two deliveries of one report at once, only one applies it.
        self._staged.append(_put(items.report_item(invitation_id, report_id, datetime.now(UTC)), None))


class _History:
    """An invitation's history entries, kept as long as the invitation is."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def align(self, invitation: Invitation) -> int:
        """Each entry gets the invitation's retention as given (one consistent query on its
        partition, page by page); only those that differ are written, one UpdateItem each (a
        history may outgrow a transaction; each write is idempotent). Returns how many."""
        until = history.kept_until(invitation, self._table.retention)
        written = 0
        for raw in self._table.query(items.history_query(invitation.id, consistent=True), page_size=100):
            update = items.history_ttl(raw, until)
            if update is None:
                continue
            try:
                self._table.write([update])
            except ConcurrentChange:
                continue  # erased by its TTL meanwhile: nothing left to keep
            written += 1
        return written


class DynamoUnitOfWork:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._staged: list[dict[str, Any]] = []
        self._events: list[DomainEvent] = []
        self._history: list[HistoryEntry] = []
        self.invitations = _Invitations(table, self._staged)
        self.patients = _Patients(table, self._staged)
        self.outbox = _Outbox(table, self._staged)
        self.quotas = _Quotas(table, self._staged)
        self.messages = _Messages(table, self._staged)
        self.reports = _Reports(table, self._staged)
        self.history = _History(table)

    def raise_event(self, event: DomainEvent) -> None:
        """Stored with the change: its outbox entry (the stream dispatches it) and its history."""
        self._events.append(event)
        self._staged.append(_put(items.outbox_item(items.outbox_entry(event)), None))
        self.record(history.of_event(event))

    def record(self, entry: HistoryEntry) -> None:
        self._history.append(entry)

    def commit(self) -> list[DomainEvent]:
        retention = self._table.retention
        checked: set[str] = set()
        for entry in self._history:  # kept as long as its invitation, as this change leaves it
            until = history.kept_until(self.invitations.current(entry.invitation_id), retention)
            self._staged.append({"Put": {"Item": items.history_item(replace(entry, kept_until=until))}})
            read = self.invitations.unchanged(entry.invitation_id)
            if read is not None and read.id not in checked:
                # Its retention comes from an invitation this change only read: written only if
                # that invitation is still as read, or a resend or a deletion committed meanwhile
                # (and aligned before this entry landed) would leave it with the wrong ttl.
                checked.add(read.id)
                self._staged.append(_unchanged(read))
        if self._staged:
            self._table.write(self._staged)
        events, self._events = self._events, []
        self._staged.clear()
        self._history.clear()
        return events
