"""Domain events: the envelope every change's events share, and one constructor per event.

An event carries ids and facts a consumer needs, never a name, an address, a phone number or a
link. `event_id` is made once, when the event is raised, and travels with it: consumers
deduplicate on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from invitations.clock import iso
from invitations.domain.ids import new_id
from invitations.domain.invitation import Channel, Invitation

if TYPE_CHECKING:
    from invitations.domain.patient import Patient

ActorKind = Literal["clinician", "patient", "system"]


@dataclass(frozen=True)
class Actor:
    """Who caused a change: a clinician (by `sub`), the patient, or the system."""

    kind: ActorKind
    id: str | None = None  # the clinician's `sub` for a clinician; None otherwise


PATIENT = Actor("patient")
SYSTEM = Actor("system")


@dataclass(frozen=True)
class Message:
    """A message the change asks to be delivered: which link, on which channel. Never the text nor
    the link itself (a credential): the dispatcher derives both from the invitation as it is then."""

    kind: Literal["invitation", "fallback_sms", "reminder"]
    channel: Channel
    link_version: int


@dataclass(frozen=True)
class DomainEvent:
    """A change that happened to an invitation: stored with it (the outbox), then published."""

    type: str  # EventBridge detail-type
    occurred_at: datetime
    actor: Actor
    invitation_id: str
    link_version: int | None
    facts: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=new_id)
    message: Message | None = None

    def detail(self) -> dict[str, Any]:
        """The event's EventBridge `detail`: the envelope, then the facts."""
        return {
            "event_id": self.event_id,
            "occurred_at": iso(self.occurred_at),
            "actor": {"kind": self.actor.kind, "id": self.actor.id},
            "invitation_id": self.invitation_id,
            "link_version": self.link_version,
            **self.facts,
        }


def invitation_sent(inv: Invitation, actor: Actor, now: datetime) -> DomainEvent:
    """A send or a resend: the current link, to be delivered on the current channel."""
    facts = {
        "clinician_id": inv.clinician_id,
        "channel": inv.channel,
        "send_count": inv.send_count,
        "sent_at": iso(inv.sent_at),
        "expires_at": iso(inv.expires_at),
        "delivery_status": inv.delivery.status,
    }
    message = Message("invitation", inv.channel, inv.link_version)
    return DomainEvent("InvitationSent", now, actor, inv.id, inv.link_version, facts, message=message)


def invitation_corrected(inv: Invitation, fields: list[str], actor: Actor, now: datetime) -> DomainEvent:
    """Which fields were corrected (their names, never their values)."""
    facts = {"clinician_id": inv.clinician_id, "fields": sorted(fields), "channel": inv.channel}
    return DomainEvent("InvitationCorrected", now, actor, inv.id, inv.link_version, facts)


def invitation_deleted(inv: Invitation, actor: Actor, now: datetime) -> DomainEvent:
    facts = {"clinician_id": inv.clinician_id, "deleted_at": iso(now)}
    return DomainEvent("InvitationDeleted", now, actor, inv.id, inv.link_version, facts)


def invitation_accepted(inv: Invitation, patient: Patient, now: datetime) -> DomainEvent:
    """What the messaging service needs to open the patient's thread."""
    facts = {
        "clinician_id": inv.clinician_id,
        "patient_id": patient.id,
        "accepted_at": iso(now),
        "locale": inv.locale,
        "thread": {"clinician_id": inv.clinician_id, "patient_id": patient.id},
    }
    return DomainEvent("InvitationAccepted", now, PATIENT, inv.id, inv.link_version, facts)


def invitation_expired(inv: Invitation, now: datetime) -> DomainEvent:
    facts = {"clinician_id": inv.clinician_id, "expires_at": iso(inv.expires_at), "expired_at": iso(now)}
    return DomainEvent("InvitationExpired", now, SYSTEM, inv.id, inv.link_version, facts)


def patient_thread_left(patient: Patient, actor: Actor, now: datetime) -> DomainEvent:
    facts = {
        "patient_id": patient.id,
        "clinician_id": patient.clinician_id,
        "left_at": iso(now),
    }
    return DomainEvent("PatientThreadLeft", now, actor, patient.invitation_id, None, facts)


def delivery_reported(
    inv: Invitation, status: str, channel: str, link_version: int, now: datetime, fallback: bool
) -> DomainEvent:
    """A provider's report on a message: `InvitationDelivered`, or `InvitationDeliveryFailed`
    (bounced, complained, failed). With `fallback`, the same link goes by SMS (the event's message)."""
    kind = "InvitationDelivered" if status == "delivered" else "InvitationDeliveryFailed"
    facts = {"clinician_id": inv.clinician_id, "delivery_status": status, "channel": channel, "fallback_sms": fallback}
    message = Message("fallback_sms", "sms", link_version) if fallback else None
    return DomainEvent(kind, now, SYSTEM, inv.id, link_version, facts, message=message)


def invitation_reminded(inv: Invitation, now: datetime) -> DomainEvent:
    """The link's one reminder, with the same link, on the current channel."""
    facts = {"clinician_id": inv.clinician_id, "channel": inv.channel, "send_count": inv.send_count}
    message = Message("reminder", inv.channel, inv.link_version)
    return DomainEvent("InvitationReminded", now, SYSTEM, inv.id, inv.link_version, facts, message=message)
