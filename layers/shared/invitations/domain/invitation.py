"""The invitation and its transitions. Each transition is pure: it takes the invitation and a
moment and returns the next invitation (or raises a domain error); the unit of work stores it
with a write conditioned on the revision it was read at."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from invitations.clock import iso
from invitations.domain import rules
from invitations.domain.errors import AddressUndeliverable, NotFound
from invitations.domain.ids import new_id
from invitations.domain.rules import Rules

Status = Literal["pending", "accepted", "expired"]
StoredStatus = Literal["pending", "accepted", "expired", "deleted"]
Channel = Literal["email", "sms"]
DeliveryStatus = Literal["queued", "sent", "delivered", "bounced", "complained", "failed", "not_sent"]


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of the current link's latest message."""

    status: DeliveryStatus
    at: datetime
    detail: str | None = None  # a short reason, never an address
    channel: Channel | None = None  # the latest message's channel (a fallback SMS after an email)
    message_id: str | None = None  # the provider's id of that message: its reports are matched on it


DEFAULT_TIME_ZONE = "Europe/Paris"


@dataclass(frozen=True)
class Contact:
    """Who is invited and how to reach them: the fields a clinician types and may correct."""

    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    locale: str = "fr"
    time_zone: str = DEFAULT_TIME_ZONE  # dates in messages and pages are shown in it


@dataclass(frozen=True)
class Invitation:
    """An invitation as stored: its status at a moment is derived (`status_at`), never stored."""

    id: str
    clinician_id: str
    clinician_name: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    locale: str
    stored_status: StoredStatus
    link_version: int
    created_at: datetime
    sent_at: datetime
    expires_at: datetime
    delivery: DeliveryOutcome
    send_count: int = 1
    recent_sends: tuple[datetime, ...] = ()
    accepted_at: datetime | None = None
    patient_id: str | None = None
    deleted_at: datetime | None = None
    time_zone: str = DEFAULT_TIME_ZONE
    email_suppressed: bool = False  # the address bounced or complained: never mailed again until corrected
    fallback_link: int | None = None  # the link whose email bounced and went again by SMS (once per link)
    reminded_link: int | None = None  # the link whose one reminder was sent
    remind_at: datetime | None = None  # when the current link's reminder is due (None: none)
    rev: int = 0  # the stored revision this value was read at (0: never stored)

    def local_time(self, moment: datetime) -> datetime:
        """`moment` in the invitation's time zone (messages and pages: never UTC, a day off near midnight)."""
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo(self.time_zone))

    @property
    def channel(self) -> Channel:
        """Email whenever an address is known (seed point 6) and deliverable, else SMS."""
        return "email" if self.email and not self.email_suppressed else "sms"

    def status_at(self, now: datetime) -> Status:
        """The status as true at `now`: a pending invitation past its expiry reads expired.
        A deleted invitation has none: it does not exist any more."""
        if self.stored_status == "deleted":
            raise NotFound()
        if self.is_overdue(now):
            return "expired"
        return self.stored_status

    def is_overdue(self, now: datetime) -> bool:
        return self.stored_status == "pending" and rules.is_past_expiry(self.expires_at, now)


def sent_key(invitation: Invitation) -> str:
    """The listing order (newest sent first) and a cursor's position: sent time, then id."""
    return f"{iso(invitation.sent_at)}#{invitation.id}"


def create(contact: Contact, clinician_id: str, clinician_name: str, now: datetime, policy: Rules) -> Invitation:
    rules.needs_a_contact(contact.email, contact.phone)
    return Invitation(
        id=new_id(),
        clinician_id=clinician_id,
        clinician_name=clinician_name,
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        phone=contact.phone,
        locale=contact.locale,
        time_zone=contact.time_zone,
        stored_status="pending",
        link_version=1,
        created_at=now,
        sent_at=now,
        expires_at=policy.expiry_of(now),
        delivery=DeliveryOutcome("queued", now),
        send_count=1,
        recent_sends=(now,),
        remind_at=_reminder_at(policy.expiry_of(now), contact.time_zone, policy),
    )


def correct(invitation: Invitation, changes: dict[str, str | None], now: datetime) -> Invitation:
    """Fix names or contact while not accepted; a new email or phone kills the old link at once."""
    rules.may_correct(invitation)
    updated = replace(invitation, **changes)  # type: ignore[arg-type]
    rules.needs_a_contact(updated.email, updated.phone)
    if (updated.email, updated.phone) != (invitation.email, invitation.phone):
        # Nothing is sent until a resend; the old link must not reach the old address's owner.
        updated = replace(updated, link_version=invitation.link_version + 1, delivery=DeliveryOutcome("not_sent", now))
    if updated.email != invitation.email:
        updated = replace(updated, email_suppressed=False)  # a corrected address may be mailed again
    return updated


def resend(invitation: Invitation, now: datetime, policy: Rules) -> Invitation:
    """A new link valid for the full window, within the send limit."""
    rules.may_resend(invitation)
    if invitation.email_suppressed and not invitation.phone:
        raise AddressUndeliverable()
    recent = policy.check_send_allowed(invitation.recent_sends, now)
    return replace(
        invitation,
        stored_status="pending",
        link_version=invitation.link_version + 1,
        sent_at=now,
        expires_at=policy.expiry_of(now),
        delivery=DeliveryOutcome("queued", now),
        send_count=invitation.send_count + 1,
        recent_sends=(*recent, now),
        remind_at=_reminder_at(policy.expiry_of(now), invitation.time_zone, policy),  # a new link, a new reminder
    )


def record_delivery(invitation: Invitation, link_version: int, outcome: DeliveryOutcome) -> Invitation | None:
    """The outcome of sending link `link_version`; None when that link is no longer the current
    one (a newer link's state must not be overwritten by an older message's outcome)."""
    if invitation.link_version != link_version or invitation.stored_status == "deleted":
        return None
    return replace(invitation, delivery=outcome)


def delete(invitation: Invitation, now: datetime) -> Invitation:
    rules.may_delete(invitation)
    return replace(invitation, stored_status="deleted", deleted_at=now)


def retained_until(invitation: Invitation, retention: timedelta) -> datetime | None:
    """When the invitation, and everything kept of it (its name words, its history), may be
    erased: `retention` after its deletion or after its expiry; never while pending or accepted
    (None). A resend revives an expired invitation, and with it everything it keeps."""
    if invitation.stored_status == "deleted":
        assert invitation.deleted_at is not None
        return invitation.deleted_at + retention
    if invitation.stored_status == "expired":
        return invitation.expires_at + retention
    return None


def accept(invitation: Invitation, patient_id: str, now: datetime) -> Invitation:
    """Pending -> accepted, naming the patient record the acceptance creates."""
    rules.link_usable(invitation, now)
    return replace(invitation, stored_status="accepted", accepted_at=now, patient_id=patient_id)


def expire(invitation: Invitation, now: datetime) -> Invitation | None:
    """The scheduled job's transition; None when there is nothing to do (any more)."""
    if not invitation.is_overdue(now):
        return None
    return replace(invitation, stored_status="expired")


def _reminder_at(expires_at: datetime, time_zone: str, policy: Rules) -> datetime | None:
    due = policy.reminder_at(expires_at, time_zone)
    return due if due is not None and due < expires_at else None


def reminder_due(invitation: Invitation, now: datetime) -> datetime | None:
    """When this link's reminder is due (None: never: sent already, accepted, expired, deleted,
    or reminders are off)."""
    if invitation.stored_status != "pending" or invitation.reminded_link == invitation.link_version:
        return None
    if invitation.remind_at is None or invitation.is_overdue(now):
        return None
    return invitation.remind_at


def remind(invitation: Invitation, now: datetime, policy: Rules) -> Invitation | None:
    """The one reminder of the current link, if due now and within the patient's day hours."""
    due = reminder_due(invitation, now)
    if due is None or now < due or not policy.reminder_hours(now, invitation.time_zone):
        return None
    return replace(
        invitation,
        reminded_link=invitation.link_version,
        send_count=invitation.send_count + 1,
        delivery=DeliveryOutcome("queued", now, None, invitation.channel),
    )
