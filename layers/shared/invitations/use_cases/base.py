"""What every use case shares: the ports it is given, who the clinician is, and the loop that
commits a change and then publishes its events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from invitations.domain.errors import Busy, ConcurrentChange
from invitations.domain.events import Actor, DomainEvent
from invitations.domain.invitation import Invitation
from invitations.domain.rules import Rules
from invitations.ports import (
    Clock,
    Counter,
    Cursors,
    EventPublisher,
    InvitationQueries,
    Links,
    Messenger,
    Pseudonyms,
    UnitOfWork,
)

if TYPE_CHECKING:  # the entry's module is imported by the functions that handle the outbox only
    from invitations.domain.outbox import OutboxEntry

ATTEMPTS = 8  # lost races in a row before giving up with 409 concurrent_update

# Business metrics counted when a change that raised the event is stored (EMF, namespace Invitations).
EVENT_METRICS = {
    "InvitationSent": "InvitationsSent",
    "InvitationAccepted": "InvitationsAccepted",
    "InvitationExpired": "InvitationsExpired",
}


@dataclass(frozen=True)
class Clinician:
    """The signed-in clinician, from the token's claims."""

    id: str  # the JWT's `sub`
    name: str  # the JWT's `name`: how patients are told who invites them

    @property
    def actor(self) -> Actor:
        return Actor("clinician", self.id)


class Services(Protocol):
    """The ports a use case talks to. On AWS, invitations/runtime.py builds each adapter on its
    first use (a function loads only what its requests reach); in tests/, fakes."""

    def unit_of_work(self) -> UnitOfWork: ...  # a new one for each change

    @property
    def queries(self) -> InvitationQueries: ...
    @property
    def messenger(self) -> Messenger: ...
    @property
    def events(self) -> EventPublisher: ...
    @property
    def links(self) -> Links: ...
    @property
    def cursors(self) -> Cursors: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def rules(self) -> Rules: ...
    @property
    def counter(self) -> Counter: ...
    @property
    def pseudonyms(self) -> Pseudonyms: ...


def commit_change[T](
    services: Services, change: Callable[[UnitOfWork], T], known: Iterable[Invitation | OutboxEntry] = ()
) -> T:
    """Run `change` in a unit of work and commit it; on a lost race, run it again on a fresh one
    (it re-reads and decides again). `known`: values the first attempt may use without reading.
    The change's events are stored with it (the outbox): they are dispatched afterwards."""
    for attempt in range(ATTEMPTS):
        uow = services.unit_of_work()
        if attempt == 0:
            for value in known:
                if isinstance(value, Invitation):
                    uow.invitations.known(value)
                else:
                    uow.outbox.known(value)
        result = change(uow)
        try:
            events = uow.commit()
        except ConcurrentChange:
            continue
        _count(services, events)
        return result
    raise Busy()


def _count(services: Services, events: Iterable[DomainEvent]) -> None:
    for event in events:
        metric = EVENT_METRICS.get(event.type)
        if metric:
            services.counter.count(metric)
