"""The domain's values are immutable: a transition returns a new value, and a value one use case
holds (a listed invitation reused by the commit loop, an event in the outbox) cannot be changed
under it by another. Each is also hashable, as a value is."""

from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime

import pytest

from invitations import read_model
from invitations.domain import delivery, events, history, outbox, rules
from invitations.domain import invitation as invitations
from invitations.domain import patient as patients
from invitations.domain.events import Actor, Message
from invitations.domain.invitation import Contact, DeliveryOutcome
from invitations.use_cases.base import Clinician
from invitations.use_cases.expiry import ExpiryRun

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def values() -> list[object]:
    contact = Contact("Jeanne", "Rivière", "p@example.org", None)
    inv = invitations.create(contact, "clin-1", "Dr A", NOW, rules.Rules())
    patient = patients.from_invitation(inv, NOW)
    event = events.invitation_sent(inv, Actor("clinician", "clin-1"), NOW)
    entry = outbox.OutboxEntry(inv.id, event.event_id, event.type, {}, NOW, event.message)
    return [
        contact,
        inv,
        inv.delivery,
        DeliveryOutcome("sent", NOW),
        patient,
        event,
        event.actor,
        Message("invitation", "email", 1),
        history.of_event(event),
        entry,
        rules.Rules(),
        Clinician("clin-1", "Dr A"),
        ExpiryRun(1, complete=True),
        read_model.Page([], None, NOW),
        delivery.SentMessage("m-1", inv.id, 1, "email"),
        delivery.Report("r-1", "m-1", "delivered", NOW),
    ]


@pytest.mark.parametrize("value", values(), ids=lambda v: type(v).__name__)
def test_a_value_cannot_be_changed_in_place(value):
    first = fields(value)[0].name  # type: ignore[arg-type]
    with pytest.raises(FrozenInstanceError):
        setattr(value, first, getattr(value, first))
