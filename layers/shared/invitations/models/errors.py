"""The error body every 4xx answer carries (docs/api.md, "Errors")."""

from invitations.models import Answer


class ErrorBody(Answer):
    code: str
    message: str
    fields: dict[str, str] | None = None


class ErrorResponse(Answer):
    error: ErrorBody
