"""What the use cases need from the world, as small Protocols. The adapters (adapters/) implement
them on AWS; tests/fakes.py implements them in memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: importing the ports loads no entity (cold starts)
    from datetime import datetime

    from invitations.domain.delivery import SentMessage
    from invitations.domain.events import DomainEvent
    from invitations.domain.history import HistoryEntry
    from invitations.domain.invitation import Invitation
    from invitations.domain.outbox import OutboxEntry
    from invitations.domain.patient import Patient
    from invitations.domain.quotas import Quota


class DeliveryFailed(Exception):
    """A message or an event the provider did not take; the reason never names the recipient.
    `permanent`: trying again cannot help (a refused address, an invalid number)."""

    def __init__(self, reason: str, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Clock(Protocol):
    def now(self) -> datetime: ...


class Links(Protocol):
    """The patient's link: derived from the invitation id and link version, never stored."""

    def url(self, invitation_id: str, link_version: int) -> str: ...

    def invitation_id_of(self, token: str) -> str | None: ...

    def verify(self, token: str, invitation_id: str, link_version: int) -> bool: ...

    def help(self, locale: str) -> str:
        """The page that helps a patient accept (seed point 9), in that language."""
        ...


class Cursors(Protocol):
    def sign(self, scope: str, position: dict[str, str]) -> str: ...

    def open(self, scope: str, cursor: str) -> dict[str, str] | None: ...


class Messenger(Protocol):
    """Each returns the provider's id of the message (its reports name it); raises DeliveryFailed
    with a reason that never names the recipient. `tags`: ids only, for the provider's reports."""

    def send_email(self, to: str, subject: str, text: str, html: str, tags: Mapping[str, str]) -> str: ...

    def send_sms(self, to: str, text: str) -> str: ...


class EventPublisher(Protocol):
    """Raises DeliveryFailed when the bus did not take the event."""

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None: ...


class Counter(Protocol):
    """Business metrics (counts only, never a value that names someone)."""

    def count(self, name: str, value: int = 1) -> None: ...


class Invitations(Protocol):
    """The invitations of one unit of work: reads are consistent, writes are staged."""

    def get(self, invitation_id: str) -> Invitation | None: ...

    def known(self, invitation: Invitation) -> None:
        """A value just read elsewhere (an index, an earlier write): `get` answers it without a
        read. If it is stale, the conditional write fails and the next attempt reads."""
        ...

    def add(self, invitation: Invitation) -> None: ...

    def update(self, new: Invitation, previous: Invitation) -> Invitation: ...


class Patients(Protocol):
    def get(self, patient_id: str) -> Patient | None: ...

    def add(self, patient: Patient) -> None: ...

    def update(self, new: Patient, previous: Patient) -> Patient: ...


class Quotas(Protocol):
    def get(self, key: str) -> Quota | None: ...

    def put(self, new: Quota, previous: Quota | None) -> Quota: ...


class SentMessages(Protocol):
    """The messages handed to a provider, by the provider's id (kept while reports may come)."""

    def get(self, message_id: str) -> SentMessage | None: ...

    def add(self, message: SentMessage) -> None: ...


class Reports(Protocol):
    """The provider reports already applied to an invitation (duplicates are dropped)."""

    def seen(self, invitation_id: str, report_id: str) -> bool: ...

    def add(self, invitation_id: str, report_id: str) -> None: ...


class Pseudonyms(Protocol):
    """A stable, keyed pseudonym of a value (an address, a number): what quotas are keyed by, so
    that no item holds the value itself and a table dump cannot reverse it."""

    def of(self, value: str) -> str: ...


class OutboxEntries(Protocol):
    def get(self, invitation_id: str, event_id: str) -> OutboxEntry | None: ...

    def known(self, entry: OutboxEntry) -> None:
        """Like Invitations.known: the first attempt uses it instead of reading it again."""
        ...

    def update(self, new: OutboxEntry, previous: OutboxEntry) -> OutboxEntry: ...


class HistoryEntries(Protocol):
    """An invitation's history entries, kept as long as the invitation is (domain/history.py)."""

    def align(self, invitation: Invitation) -> int:
        """Give every history entry of the invitation the invitation's retention as given (none
        when it has none), writing only the entries that differ; returns how many it wrote. Not
        staged: written at once, entry by entry (a history may outgrow one commit), each write
        idempotent; an entry erased meanwhile stays erased."""
        ...


class UnitOfWork(Protocol):
    """One change: everything staged is committed at once and conditionally (each entity as it
    was read), or not at all (ConcurrentChange). An event raised is stored with the change, as an
    outbox entry and a history entry, in the same commit; `commit` returns the events. Every
    history entry committed is kept as long as its invitation as the change leaves it (staged,
    else as read; none when the change did not touch it)."""

    @property
    def invitations(self) -> Invitations: ...

    @property
    def patients(self) -> Patients: ...

    @property
    def outbox(self) -> OutboxEntries: ...

    @property
    def quotas(self) -> Quotas: ...

    @property
    def messages(self) -> SentMessages: ...

    @property
    def reports(self) -> Reports: ...

    @property
    def history(self) -> HistoryEntries: ...

    def raise_event(self, event: DomainEvent) -> None: ...

    def record(self, entry: HistoryEntry) -> None:
        """A history entry that is not an event (a delivery outcome)."""
        ...

    def commit(self) -> list[DomainEvent]: ...


class InvitationQueries(Protocol):
    """The read side: lists, search and the expiry index (eventually consistent indexes)."""

    def list_invitations(
        self,
        clinician_id: str,
        stored_status: str | None,
        before: str | None,
        limit: int,
        expired_by: datetime | None = None,
        live_at: datetime | None = None,
        delivery: str | None = None,
    ) -> list[Invitation]: ...

    def search_names(self, clinician_id: str, prefixes: Sequence[str]) -> dict[str, str]: ...

    def get_invitations(self, invitation_ids: Sequence[str]) -> list[Invitation]: ...

    def overdue(self, now: datetime) -> Iterator[Invitation]: ...

    def reminders_due(self, now: datetime) -> Iterator[Invitation]: ...

    def history(self, invitation_id: str) -> list[HistoryEntry]:
        """Oldest first."""
        ...

    def undone_outbox(self, created_before: datetime) -> Iterator[tuple[str, str]]:
        """(invitation id, event id) of every outbox entry not done, created before the moment."""
        ...
