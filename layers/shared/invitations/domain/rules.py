"""Every rule of the product, each in one place: how long a link lives, how often an invitation
may be sent, how many messages a clinician and a recipient may get, where SMS may go, and who may
see, correct, resend, delete, accept or leave what.

The numbers here are the defaults; a deployment may change the validity, the daily cap and the
SMS countries (template parameters -> typed settings -> `Rules`), never the meaning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from invitations.domain.errors import Invalid, InvitationAccepted, LinkExpired, LinkGone, NotFound, TooManySends

if TYPE_CHECKING:
    from invitations.domain.invitation import Invitation
    from invitations.domain.patient import Patient

VALIDITY_DAYS = 14  # seed point 12: "valid for 14 days from its sending"
SEND_WINDOW = timedelta(hours=24)  # the window the send limit counts in
MAX_SENDS_PER_WINDOW = 5  # sends of one invitation per window: protects the patient from a flood
# Across invitations (docs/api.md, "Protection"): one account cannot flood a patient nor run up
# the SMS bill, and many accounts together cannot flood one phone.
NEW_INVITATIONS_PER_RECIPIENT = 3  # per clinician and email address or phone number, per window
NEW_INVITATIONS_PER_PHONE = 10  # per phone number, all clinicians together, per window
MAX_SENDS_PER_DAY = 200  # messages per clinician per window: sends, resends (and reminders)
SMS_COUNTRIES = ("FR", "GP", "MQ", "GF", "RE", "YT")  # France and its overseas departments
REMINDER_DAYS_BEFORE = 3  # one reminder per link, this many days before it expires (0: none)
REMINDER_HOURS = (9, 20)  # ... between 09:00 and 20:00 in the invitation's time zone


@dataclass(frozen=True)
class Rules:
    """The service's figures (validity, send limits, SMS countries, reminder), set per stack."""

    validity: timedelta = timedelta(days=VALIDITY_DAYS)
    max_sends_per_window: int = MAX_SENDS_PER_WINDOW
    max_sends_per_day: int = MAX_SENDS_PER_DAY
    sms_countries: tuple[str, ...] = SMS_COUNTRIES
    reminder_days_before: int = REMINDER_DAYS_BEFORE

    def reminder_at(self, expires_at: datetime, time_zone: str) -> datetime | None:
        """When a link's one reminder is due: `reminder_days_before` days before it expires, moved
        into the day's 09:00-20:00 in the invitation's zone; None when reminders are off."""
        if self.reminder_days_before <= 0:
            return None
        from zoneinfo import ZoneInfo

        local = (expires_at - timedelta(days=self.reminder_days_before)).astimezone(ZoneInfo(time_zone))
        first, last = REMINDER_HOURS
        if local.hour < first:
            local = local.replace(hour=first, minute=0, second=0, microsecond=0)
        elif local.hour >= last:
            local = local.replace(hour=last - 1, minute=0, second=0, microsecond=0)
        return local.astimezone(expires_at.tzinfo)

    def reminder_hours(self, now: datetime, time_zone: str) -> bool:
        """Whether it is now between 09:00 and 20:00 where the patient is."""
        from zoneinfo import ZoneInfo

        first, last = REMINDER_HOURS
        return first <= now.astimezone(ZoneInfo(time_zone)).hour < last

    def check_sms_country(self, phone: str | None) -> None:
        """SMS go only to the countries the deployment allows (SMS-pumping fraud targets others)."""
        if phone and region_of(phone) not in self.sms_countries:
            raise Invalid(fields={"phone": f"SMS can only be sent to numbers of: {', '.join(self.sms_countries)}"})

    def expiry_of(self, sent_at: datetime) -> datetime:
        """A link sent at `sent_at` works until this instant, excluded."""
        return sent_at + self.validity

    def check_send_allowed(self, previous_sends: tuple[datetime, ...], now: datetime) -> tuple[datetime, ...]:
        """The sends still inside the window, if one more is allowed now; else TooManySends with
        the seconds until the oldest one leaves the window."""
        recent = tuple(t for t in previous_sends if now - t < SEND_WINDOW)
        if len(recent) >= self.max_sends_per_window:
            retry_after = min(recent) + SEND_WINDOW - now
            raise TooManySends(max(1, int(retry_after.total_seconds()) + 1))
        return recent


def region_of(phone: str) -> str | None:
    """The country (ISO 3166 code) of an E.164 number."""
    import phonenumbers  # on first use: the functions that never see a phone number skip its import

    return phonenumbers.region_code_for_number(phonenumbers.parse(phone))  # type: ignore[no-any-return]


def recipient_of(email: str | None, phone: str | None) -> list[str]:
    """Who a send reaches, each named once: an address in lower case without its `+label` (a
    label or a case does not make a new recipient), a number in E.164."""
    found = []
    if email:
        local, _, domain = email.lower().rpartition("@")
        found.append(f"{local.split('+', 1)[0]}@{domain}")
    if phone:
        found.append(phone)
    return found


def is_past_expiry(expires_at: datetime, now: datetime) -> bool:
    """The one expiry boundary: at `expires_at` exactly the link no longer works."""
    return now >= expires_at


def needs_a_contact(email: str | None, phone: str | None) -> None:
    """An invitation, like a patient record, keeps an email address or a phone number."""
    if not email and not phone:
        reason = "give an email address or a phone number"
        raise Invalid(fields={"email": reason, "phone": reason})


# -- who may do what --------------------------------------------------------------------------


def visible_to(invitation: Invitation | None, clinician_id: str) -> Invitation:
    """A clinician sees only their own invitations; another's, or a deleted one, does not exist."""
    if invitation is None or invitation.clinician_id != clinician_id or invitation.stored_status == "deleted":
        raise NotFound()
    return invitation


def may_correct(invitation: Invitation) -> None:
    """Details may be corrected while not accepted (then they belong to the patient record)."""
    if invitation.stored_status == "accepted":
        raise InvitationAccepted()


def may_resend(invitation: Invitation) -> None:
    """Pending or expired may be resent; an accepted one has nothing left to send."""
    if invitation.stored_status == "accepted":
        raise InvitationAccepted()


def may_delete(invitation: Invitation) -> None:
    """Pending or expired may be deleted; once accepted, the clinician leaves the thread instead."""
    if invitation.stored_status == "accepted":
        raise InvitationAccepted(
            "This invitation has been accepted: it cannot be deleted; leave the patient thread instead."
        )


def link_usable(invitation: Invitation, now: datetime) -> Invitation:
    """What a patient's link may do now: nothing when deleted (404), nothing when expired (410)."""
    if invitation.stored_status == "deleted":
        raise LinkGone()
    if invitation.status_at(now) == "expired":
        raise LinkExpired(invitation.clinician_name, invitation.locale)
    return invitation


def own_patient(patient: Patient | None, clinician_id: str) -> Patient:
    """A clinician sees only the patient records their own invitations created."""
    if patient is None or patient.clinician_id != clinician_id:
        raise NotFound()
    return patient
