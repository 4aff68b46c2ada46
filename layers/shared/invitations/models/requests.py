"""The bodies a clinician sends, with their validation rules (names, addresses, phones, zones)."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from invitations.models import Locale
from invitations.text import unsafe_characters


def _safe_name(value: str) -> str:
    problem = unsafe_characters(value)
    if problem:
        raise ValueError(problem)
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_safe_name)
]


def to_deliverable_email(value: str) -> str:
    """An address SES can deliver to: ASCII before the @ (SES has no SMTPUTF8), the domain in
    punycode; normalised (the domain in lower case)."""
    import email_validator  # on first use, like phonenumbers below

    if len(value) > 254:
        raise ValueError("must be an email address of at most 254 characters")
    try:
        found = email_validator.validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError:
        raise ValueError("must be an email address with only ASCII letters before the @") from None
    return str(found.ascii_email)


def to_e164_mobile(value: str) -> str:
    """French national ('06 12 34 56 78') or E.164; must be a valid mobile; returns E.164."""
    # Imported on first use: the functions that never validate a phone (list, accept, expire)
    # do not pay for phonenumbers' import at cold start.
    import phonenumbers

    if len(value) > 32:
        raise ValueError("must be a phone number")
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        raise ValueError("must be a phone number, French national or E.164") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("must be a valid phone number")
    mobile = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
    if phonenumbers.number_type(number) not in mobile:
        raise ValueError("must be a mobile number (an SMS is sent to it)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Phone = Annotated[str, AfterValidator(to_e164_mobile)]
Email = Annotated[str, AfterValidator(to_deliverable_email)]


def to_time_zone(value: str) -> str:
    """An IANA time zone name (Europe/Paris, America/Martinique, ...)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if len(value) > 64 or not value or value.startswith("/") or ".." in value:
        raise ValueError("must be an IANA time zone name, e.g. Europe/Paris")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone name, e.g. Europe/Paris") from None
    return value


TimeZone = Annotated[str, AfterValidator(to_time_zone)]


class _Strict(BaseModel):
    # defer_build: a request model is built (and email_validator imported) on its first use, so a
    # function that never validates such a body does not pay for it at cold start.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class InvitationCreate(_Strict):
    first_name: Name
    last_name: Name
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale = "fr"
    time_zone: TimeZone = Field(default="Europe/Paris", description="Dates in messages and pages are shown in it")

    @model_validator(mode="after")
    def _needs_a_channel(self) -> "InvitationCreate":
        if self.email is None and self.phone is None:
            raise ValueError("give an email address or a phone number")
        return self


class ContactPatch(_Strict):
    """A correction: only the fields given change; an explicit null removes the email or the
    phone (one of them must remain), never a name."""

    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _names_stay(self) -> "ContactPatch":
        for name in ("first_name", "last_name"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed")
        return self

    def changes(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


class InvitationPatch(ContactPatch):
    pass


class PatientPatch(ContactPatch):
    pass
