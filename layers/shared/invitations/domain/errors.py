"""What can go wrong, in the domain's words. Each error has the contract's `code` and a sentence;
the HTTP layer alone decides which status each one answers (invitations/http/errors.py)."""


class DomainError(Exception):
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields


class NotFound(DomainError):
    code = "not_found"
    message = "No such resource."


class InvitationAccepted(DomainError):
    code = "invitation_accepted"
    message = "This invitation has been accepted: its details now belong to the patient record."


class AddressUndeliverable(DomainError):
    code = "address_undeliverable"
    message = "The email address bounced or marked the invitation as spam and there is no phone number: correct the details, then resend."


class TooManySends(DomainError):
    code = "too_many_sends"
    message = "This invitation was sent too many times in the last 24 hours; try again later."

    def __init__(self, retry_after_seconds: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class LinkGone(DomainError):
    """The link is unknown, replaced or deleted."""

    code = "link_not_valid"
    message = "This invitation link is no longer valid."


class LinkExpired(DomainError):
    code = "link_expired"
    message = "This invitation has expired; ask your clinician to send it again."

    def __init__(self, clinician_name: str, locale: str) -> None:
        super().__init__()
        self.clinician_name = clinician_name
        self.locale = locale


class InvalidCursor(DomainError):
    """A validation failure of the query, like any other (the contract: 422 with the field)."""

    code = "validation_error"
    message = "The cursor is not valid for this listing."

    def __init__(self) -> None:
        super().__init__(fields={"cursor": "not a cursor of this listing (use next_cursor as given)"})


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request body."


class Unauthorized(DomainError):
    code = "unauthorized"
    message = "A valid bearer token is required."


class Busy(DomainError):
    code = "concurrent_update"
    message = "The invitation changed while this request ran; try again."


class Invalid(DomainError):
    code = "validation_error"
    message = "The request is not valid."


class ConcurrentChange(Exception):
    """A conditional write lost against another writer: re-read and decide again (never shown)."""
