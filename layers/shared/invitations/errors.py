"""Domain errors: each knows the HTTP status and contract code it maps to (mapped once, in http.py)."""


class DomainError(Exception):
    status = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "No such resource."


class InvitationAccepted(DomainError):
    status = 409
    code = "invitation_accepted"
    message = "This invitation has been accepted: its details now belong to the patient record."


class TooManySends(DomainError):
    status = 429
    code = "too_many_sends"
    message = "This invitation was sent too many times in the last 24 hours; try again later."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__()
        self.retry_after_seconds = retry_after_seconds


class LinkGone(DomainError):
    """The link is unknown, replaced or deleted."""

    status = 404
    code = "link_not_valid"
    message = "This invitation link is no longer valid."


class LinkExpired(DomainError):
    status = 410
    code = "link_expired"
    message = "This invitation has expired; ask your clinician to send it again."

    def __init__(self, clinician_name: str, locale: str) -> None:
        super().__init__()
        self.clinician_name = clinician_name
        self.locale = locale


class InvalidCursor(DomainError):
    """A validation failure of the query, like any other (the contract: 422 with the field)."""

    status = 422
    code = "validation_error"
    message = "The cursor is not valid for this listing."

    def __init__(self) -> None:
        super().__init__(fields={"cursor": "not a cursor of this listing (use next_cursor as given)"})


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request body."


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    message = "A valid bearer token is required."


class Busy(DomainError):
    status = 409
    code = "concurrent_update"
    message = "The invitation changed while this request ran; try again."


class Invalid(DomainError):
    status = 422
    code = "validation_error"
    message = "The request is not valid."
