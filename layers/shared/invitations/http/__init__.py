"""HTTP glue shared by every function (presenters/ shapes the answers): the resolver, the contract's error body (mapped once,
here), the caller's identity from the JWT authorizer, and the Lambda entry point."""

import base64
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from invitations import snapstart
from invitations.domain.errors import (
    AddressUndeliverable,
    Busy,
    DomainError,
    IdempotencyKeyReused,
    Invalid,
    InvalidCursor,
    InvitationAccepted,
    LinkExpired,
    LinkGone,
    NotFound,
    TooManySends,
    Unauthorized,
)
from invitations.models.errors import ErrorResponse
from invitations.observability import logger, metrics
from invitations.text import display_name
from invitations.use_cases.base import Clinician

JSON = "application/json"
# Every JSON answer: answers hold links (credentials) and patient data; never cached, never sniffed.
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

# The one place where a domain error becomes an HTTP status.
STATUS: dict[type[DomainError], int] = {
    Invalid: 422,
    InvalidCursor: 422,
    IdempotencyKeyReused: 422,
    Unauthorized: 401,
    NotFound: 404,
    LinkGone: 404,
    LinkExpired: 410,
    InvitationAccepted: 409,
    AddressUndeliverable: 409,
    Busy: 409,
    TooManySends: 429,
}


def status_of(error: DomainError) -> int:
    return next((STATUS[kind] for kind in type(error).__mro__ if kind in STATUS), 400)


Router = APIGatewayHttpRouter


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None, **headers: str
) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return Response(
        status_code=status, content_type=JSON, body=json.dumps({"error": error}), headers={**NO_STORE, **headers}
    )


def json_response(status: int, body: BaseModel | dict[str, Any], **headers: str) -> Response:
    # pydantic's own serialiser: a third of json.dumps(model_dump()) on a page of 20 invitations.
    text = body.model_dump_json() if isinstance(body, BaseModel) else json.dumps(body)
    return Response(status_code=status, content_type=JSON, body=text, headers={**NO_STORE, **headers})


def _field_name(loc: tuple[Any, ...]) -> str:
    # Powertools prefixes locations with where the value came from: ("body", "email"), ("query", "limit").
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_fields(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Field -> what is wrong. Built from pydantic's messages only, never from the input."""
    fields: dict[str, str] = {}
    for err in errors:
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required"
        else:
            message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        fields.setdefault(_field_name(tuple(err.get("loc", ()))), message)
    return fields


def build_app(*routers: APIGatewayHttpRouter) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        errors = list(error.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed_json", "The request body is not valid JSON.")
        if any(e.get("type") == "model_attributes_type" and tuple(e.get("loc", ())) == ("body",) for e in errors):
            return error_response(
                422, "validation_error", "The request body must be a JSON object.", {"body": "must be an object"}
            )
        return error_response(422, "validation_error", "Some fields are not valid.", _validation_fields(errors))

    @app.exception_handler(DomainError)
    def _domain(error: DomainError) -> Response:
        headers = {"Retry-After": str(error.retry_after_seconds)} if isinstance(error, TooManySends) else {}
        return error_response(status_of(error), error.code, error.message, error.fields, **headers)

    @app.not_found
    def _not_found(_: Exception) -> Response:
        return error_response(404, "not_found", "No such route.")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        # The type only: an exception's text may quote the input.
        logger.error("unhandled error", extra={"error_type": type(error).__name__})
        return error_response(500, "internal_error", "Something went wrong on our side; please try again.")

    return app


MAX_SUBJECT = 128  # a longer `sub` is no identity provider's: refused before any storage call
MAX_DISPLAY_NAME = 100


def current_clinician(app: APIGatewayHttpResolver | APIGatewayHttpRouter) -> Clinician:
    """The caller, as the API's JWT authorizer verified them (`sub`, `name` claims). The name is
    cleaned here, once, before it reaches a subject line, a message or a page."""
    authorizer = app.current_event.request_context.authorizer
    claims = (authorizer.jwt_claim if authorizer else None) or {}
    subject = str(claims.get("sub") or "")
    if not subject or len(subject) > MAX_SUBJECT:
        raise Unauthorized()
    name = display_name(str(claims.get("name") or ""), MAX_DISPLAY_NAME)
    return Clinician(id=subject, name=name or "Votre soignant")


def _refusal(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    headers = {"Content-Type": JSON, **NO_STORE}
    return {"statusCode": status, "headers": headers, "body": json.dumps({"error": error}), "isBase64Encoded": False}


def _body_that_is_not_json(event: dict[str, Any]) -> dict[str, Any] | None:
    """Every body is JSON (the contract). Anything else is refused before Powertools parses it:
    it would otherwise fail deep inside (a 500) or echo form fields back in a 422."""
    body = event.get("body")
    if not body:
        return None
    content_type = ((event.get("headers") or {}).get("content-type") or JSON).lower()
    if not content_type.startswith(JSON):
        return _refusal(
            415, "unsupported_media_type", "The request body must be JSON (Content-Type: application/json)."
        )
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
        # Parsed once here too: JSON nested thousands deep exhausts the parser's recursion,
        # which would otherwise escape Powertools as a 500.
        parsed = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeError, RecursionError):
        return _refusal(400, "malformed_json", "The request body is not valid JSON.")
    if not isinstance(parsed, dict):  # an array's first element would otherwise be taken for the body
        return _refusal(
            422, "validation_error", "The request body must be a JSON object.", {"body": "must be an object"}
        )
    return None


def lambda_entry(
    app: APIGatewayHttpResolver, *, json_bodies: bool = True
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The function's handler: correlation id in every log line, metrics flushed per call.
    `json_bodies=False` for routes that ignore the body (the patient page's form post).
    With SnapStart on, its runtime hooks are registered here, once (invitations/snapstart.py)."""
    snapstart.register()

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        refused = _body_that_is_not_json(event) if json_bodies else None
        return refused or app.resolve(event, context)

    return handler


_ERROR_TEXT = {
    400: "Malformed JSON",
    401: "Missing or invalid bearer token",
    404: "Not found (or not yours)",
    409: "Conflict with the current state",
    410: "The link has expired",
    415: "The body is not JSON",
    422: "Validation error",
    429: "Too many sends; see Retry-After",
}


def responses(success: int, model: type[BaseModel] | None, description: str, *errors: int) -> dict[int, Any]:
    """OpenAPI responses for a route: its success body and the contract's error body."""
    documented: dict[int, Any] = {success: {"description": description}}
    if model is not None:
        documented[success]["content"] = {JSON: {"model": model}}
    for status in errors:
        documented[status] = {"description": _ERROR_TEXT[status], "content": {JSON: {"model": ErrorResponse}}}
    return documented
