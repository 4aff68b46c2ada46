"""In-memory fakes of every port (invitations/ports.py), for the unit tests of the use cases.
The unit of work keeps DynamoDB's promise: a commit applies everything or nothing, each entity
only if its stored revision is still the one it was read at."""

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from invitations import ports
from invitations.domain import history
from invitations.domain.delivery import SentMessage
from invitations.domain.errors import ConcurrentChange
from invitations.domain.events import DomainEvent
from invitations.domain.history import HistoryEntry
from invitations.domain.invitation import Contact, Invitation, sent_key
from invitations.domain.outbox import OutboxEntry
from invitations.domain.patient import Patient
from invitations.domain.quotas import Quota
from invitations.domain.rules import Rules
from invitations.ports import DeliveryFailed
from invitations.text import name_words
from invitations.tokens import SignedCursors, SignedLinks, TokenSigner
from invitations.use_cases.base import Clinician

BASE_URL = "https://invite.example.org"
RETENTION = timedelta(days=90)  # RetentionDays' default: how long a deleted or expired invitation is kept


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = (start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@dataclass
class Store:
    """What the table would hold: entities by key, with their revision."""

    invitations: dict[Any, Invitation] = field(default_factory=dict)
    patients: dict[Any, Patient] = field(default_factory=dict)
    outbox: dict[Any, OutboxEntry] = field(default_factory=dict)  # by (invitation id, event id)
    quotas: dict[Any, Quota] = field(default_factory=dict)
    messages: dict[str, SentMessage] = field(default_factory=dict)  # by the provider's message id
    reports: set[tuple[str, str]] = field(default_factory=set)
    history: list[HistoryEntry] = field(default_factory=list)  # each with its `kept_until` (the item's ttl)
    retention: timedelta = RETENTION
    alignments: list[str] = field(default_factory=list)  # invitation ids whose history was aligned
    commits: int = 0  # successful commits that wrote something
    writes: list[int] = field(default_factory=list)  # items written by each such commit
    lose_next: int = 0  # the next N commits lose a race (as if another writer came first)
    reads: int = 0


def _key(entity: Any) -> Any:
    if isinstance(entity, OutboxEntry):
        return (entity.invitation_id, entity.event_id)
    return entity.key if isinstance(entity, Quota) else entity.id


class _Entities[E: (Invitation, Patient, OutboxEntry, Quota)]:
    def __init__(self, stored: dict[Any, E], staged: list[tuple[str, Any, int | None]], kind: str, store: Store):
        self._stored = stored
        self._staged = staged
        self._kind = kind
        self._store = store
        self._known: dict[Any, E] = {}
        self._read: dict[Any, E] = {}
        self._written: dict[Any, E] = {}

    def known(self, entity: E) -> None:
        self._known[_key(entity)] = entity

    def get(self, *key: str) -> E | None:
        found = key[0] if len(key) == 1 else key
        if found in self._known:
            value: E | None = self._known[found]
        else:
            self._store.reads += 1
            value = self._stored.get(found)
        if value is not None:
            self._read[found] = value
        return value

    def current(self, *key: str) -> E | None:
        """As this unit of work leaves it (written, else as read); None if untouched."""
        found = key[0] if len(key) == 1 else key
        return self._written.get(found) or self._read.get(found)

    def unchanged(self, *key: str) -> E | None:
        """As read, if this unit of work does not write it."""
        found = key[0] if len(key) == 1 else key
        return None if found in self._written else self._read.get(found)

    def add(self, entity: E) -> None:
        self._written[_key(entity)] = entity
        self._staged.append((self._kind, entity, None))

    def update(self, new: E, previous: E) -> E:
        stored = replace(new, rev=previous.rev + 1)
        self._written[_key(stored)] = stored
        self._staged.append((self._kind, stored, previous.rev))
        return stored

    def put(self, new: E, previous: E | None) -> E:
        """Create (previous None) or update: the quotas' one write."""
        if previous is None:
            stored = replace(new, rev=1)
            self.add(stored)
            return stored
        return self.update(new, previous)


class _FakeMessages:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    def get(self, message_id: str) -> SentMessage | None:
        return self._uow.store.messages.get(message_id)

    def add(self, message: SentMessage) -> None:
        self._uow.after_commit.append(lambda: self._uow.store.messages.__setitem__(message.message_id, message))


class _FakeReports:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self._uow = uow

    def seen(self, invitation_id: str, report_id: str) -> bool:
        return (invitation_id, report_id) in self._uow.store.reports

    def add(self, invitation_id: str, report_id: str) -> None:
        key = (invitation_id, report_id)
        self._uow.conditions.append(lambda: key not in self._uow.store.reports)
        self._uow.after_commit.append(lambda: self._uow.store.reports.add(key))


class FakeHistory:
    """Aligns as the adapter does: every entry of the invitation, only those that differ."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def align(self, invitation: Invitation) -> int:
        self._store.alignments.append(invitation.id)
        until = history.kept_until(invitation, self._store.retention)
        written = 0
        for n, entry in enumerate(self._store.history):
            if entry.invitation_id == invitation.id and entry.kept_until != until:
                self._store.history[n] = replace(entry, kept_until=until)
                written += 1
        return written


class FakeUnitOfWork:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.store = store
        self.after_commit: list[Callable[[], Any]] = []  # writes of items that are not entities
        self.conditions: list[Callable[[], bool]] = []
        self.messages = _FakeMessages(self)
        self.reports = _FakeReports(self)
        self.history = FakeHistory(store)
        self._staged: list[tuple[str, Any, int | None]] = []
        self._events: list[DomainEvent] = []
        self._history: list[HistoryEntry] = []
        self.invitations: _Entities[Invitation] = _Entities(store.invitations, self._staged, "invitations", store)
        self.patients: _Entities[Patient] = _Entities(store.patients, self._staged, "patients", store)
        self.outbox: _Entities[OutboxEntry] = _Entities(store.outbox, self._staged, "outbox", store)
        self.quotas: _Entities[Quota] = _Entities(store.quotas, self._staged, "quotas", store)

    def raise_event(self, event: DomainEvent) -> None:
        self._events.append(event)
        entry = OutboxEntry(
            event.invitation_id, event.event_id, event.type, event.detail(), event.occurred_at, event.message
        )
        self.outbox.add(entry)
        self.record(history.of_event(event))

    def record(self, entry: HistoryEntry) -> None:
        self._history.append(entry)

    def commit(self) -> list[DomainEvent]:
        for entry in self._history:  # an invitation only read must still be as read (its retention)
            read = self.invitations.unchanged(entry.invitation_id)
            if read is not None:
                self.conditions.append(
                    lambda read=read: getattr(self._store.invitations.get(read.id), "rev", None) == read.rev
                )
        if not all(check() for check in self.conditions):
            raise ConcurrentChange()
        if self._staged or self.after_commit:
            if self._store.lose_next:
                self._store.lose_next -= 1
                raise ConcurrentChange()
            for kind, entity, previous_rev in self._staged:
                current = getattr(self._store, kind).get(_key(entity))
                if (current is None) != (previous_rev is None) or (current and current.rev != previous_rev):
                    raise ConcurrentChange()
            for kind, entity, _ in self._staged:
                getattr(self._store, kind)[_key(entity)] = entity
            for entry in self._history:  # kept as long as its invitation, as this change leaves it
                until = history.kept_until(self.invitations.current(entry.invitation_id), self._store.retention)
                self._store.history.append(replace(entry, kept_until=until))
            for write in self.after_commit:
                write()
            self._store.commits += 1
            self._store.writes.append(len(self._staged) + len(self._history))
        events, self._events = self._events, []
        self._staged.clear()
        self._history.clear()
        self.after_commit.clear()
        self.conditions.clear()
        return events


class FakeQueries:
    """The read side over the store, as the indexes would answer it (deleted ones are in none)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.store = store
        self.after_commit: list[Callable[[], Any]] = []  # writes of items that are not entities
        self.conditions: list[Callable[[], bool]] = []
        self.messages = _FakeMessages(self)
        self.reports = _FakeReports(self)

    def _live(self) -> list[Invitation]:
        return [inv for inv in self._store.invitations.values() if inv.stored_status != "deleted"]

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
        found = [
            inv
            for inv in self._live()
            if inv.clinician_id == clinician_id
            and (stored_status is None or inv.stored_status == stored_status)
            and (before is None or sent_key(inv) < before)
            and (expired_by is None or inv.expires_at <= expired_by)
            and (live_at is None or inv.expires_at > live_at)
            and (delivery is None or inv.delivery.status == delivery)
        ]
        return sorted(found, key=sent_key, reverse=True)[:limit]

    def search_names(self, clinician_id: str, prefixes: Sequence[str]) -> dict[str, str]:
        first = prefixes[0]
        return {
            inv.id: sent_key(inv)
            for inv in self._live()
            if inv.clinician_id == clinician_id
            and any(w.startswith(first) for w in name_words(inv.first_name, inv.last_name))
        }

    def get_invitations(self, invitation_ids: Sequence[str]) -> list[Invitation]:
        return [self._store.invitations[i] for i in invitation_ids if i in self._store.invitations]

    def overdue(self, now: datetime) -> Iterator[Invitation]:
        yield from sorted(
            (inv for inv in self._live() if inv.stored_status == "pending" and inv.expires_at <= now),
            key=lambda inv: inv.expires_at,
        )

    def reminders_due(self, now: datetime) -> Iterator[Invitation]:
        due = [
            inv
            for inv in self._live()
            if inv.stored_status == "pending"
            and inv.remind_at is not None
            and inv.reminded_link != inv.link_version
            and inv.remind_at <= now
        ]
        yield from sorted(due, key=lambda inv: inv.remind_at or now)

    def history(self, invitation_id: str) -> list[HistoryEntry]:
        found = [e for e in self._store.history if e.invitation_id == invitation_id]
        return sorted(found, key=lambda e: e.at)  # stable: entries of one moment keep their order

    def undone_outbox(self, created_before: datetime) -> Iterator[tuple[str, str]]:
        undone = [e for e in self._store.outbox.values() if not e.done and e.created_at < created_before]
        for entry in sorted(undone, key=lambda e: e.created_at):
            yield entry.invitation_id, entry.event_id


@dataclass
class FakeMessenger:
    emails: list[dict[str, str]] = field(default_factory=list)
    sms: list[dict[str, str]] = field(default_factory=list)
    fail_with: str | None = None  # every send fails with this reason
    fail_next: int = 0  # the next N sends fail (transiently, unless `permanent`)
    permanent: bool = False
    sent_ids: int = 0

    def _id(self) -> str:
        self.sent_ids += 1
        return f"msg-{self.sent_ids:04d}"

    def _refuse(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise DeliveryFailed(self.fail_with or "email not sent: Throttling", self.permanent)
        if self.fail_with:
            raise DeliveryFailed(self.fail_with, self.permanent)

    def send_email(self, to: str, subject: str, text: str, html: str, tags: Mapping[str, str]) -> str:
        self._refuse()
        message_id = self._id()
        self.emails.append({"to": to, "subject": subject, "text": text, "html": html, "id": message_id, **tags})
        return message_id

    def send_sms(self, to: str, text: str) -> str:
        self._refuse()
        message_id = self._id()
        self.sms.append({"to": to, "text": text, "id": message_id})
        return message_id


@dataclass
class FakePublisher:
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_next: int = 0

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise DeliveryFailed("event not published: ThrottlingException")
        self.published.append((detail_type, dict(detail)))

    def types(self) -> list[str]:
        return [detail_type for detail_type, _ in self.published]

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [detail for t, detail in self.published if t == detail_type]


@dataclass
class FakeCounter:
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


class FakePseudonyms:
    """Readable pseudonyms (tests look at the keys), still never the value itself."""

    def of(self, value: str) -> str:
        return "p-" + hashlib.sha256(value.encode()).hexdigest()[:12]


@dataclass
class FakeServices:
    """The ports (use_cases.base.Services) on the fakes."""

    unit_of_work: Callable[[], ports.UnitOfWork]
    queries: ports.InvitationQueries
    messenger: ports.Messenger
    events: ports.EventPublisher
    links: ports.Links
    cursors: ports.Cursors
    clock: ports.Clock
    rules: Rules
    counter: ports.Counter
    pseudonyms: ports.Pseudonyms


@dataclass
class World:
    """Every fake, and the Services built on them."""

    store: Store
    messenger: FakeMessenger
    publisher: FakePublisher
    counter: FakeCounter
    clock: FrozenClock
    services: FakeServices

    def dispatched(self, clinician: Clinician, contact: Contact) -> Invitation:
        """An invitation sent, once the stream has dispatched it (its message id recorded)."""
        from invitations.use_cases import sending

        sent = sending.send(self.services, clinician, contact)
        self.run_outbox()
        return self.store.invitations[sent.id]

    def run_outbox(self, passes: int = 1) -> int:
        """What the stream does: dispatch each entry not done, oldest first, `passes` times over
        (a failed one is tried again on the next pass). Returns the entries left undone."""
        from invitations.use_cases.dispatch import RetryLater, dispatch

        for _ in range(passes):
            undone = sorted((e for e in self.store.outbox.values() if not e.done), key=lambda e: e.created_at)
            for entry in undone:
                try:
                    dispatch(self.services, entry.invitation_id, entry.event_id)
                except RetryLater:
                    continue
        return sum(1 for e in self.store.outbox.values() if not e.done)


def as_read[V: (str, int)](value: V) -> V:
    """Equal to the value, never the same object: as an adapter decodes it from an item, a request
    or a provider's report (so `is` where `==` is meant fails here as it would in production)."""
    return json.loads(json.dumps(value)) if isinstance(value, str) else type(value)(str(value))


def world(rules: Rules | None = None, secret: bytes = b"unit-test-secret") -> World:
    store, messenger, publisher, counter, clock = (
        Store(),
        FakeMessenger(),
        FakePublisher(),
        FakeCounter(),
        FrozenClock(),
    )
    signer = TokenSigner(secret)
    services = FakeServices(
        unit_of_work=lambda: FakeUnitOfWork(store),
        queries=FakeQueries(store),
        messenger=messenger,
        events=publisher,
        links=SignedLinks(signer, BASE_URL),
        cursors=SignedCursors(signer),
        clock=clock,
        rules=rules or Rules(),
        counter=counter,
        pseudonyms=FakePseudonyms(),
    )
    return World(store, messenger, publisher, counter, clock, services)
