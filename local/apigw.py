"""API Gateway HTTP API, the parts the service relies on: routing by the template's routes, the
Lambda proxy event (payload format 2.0) built from a raw HTTP request, and the function's answer
turned back into an HTTP response."""

import base64
import binascii
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.lambdas import ACCOUNT_ID
from local.template import FunctionSpec

API_ID = "local"
STAGE = "$default"
# What API Gateway (HTTP API) hands over as text; any other body (forms, binary, no Content-Type)
# arrives base64-encoded with isBase64Encoded true.
_TEXT_TYPES = re.compile(r"^\s*(text/[^;\s]+|application/(json|xml|javascript))\s*(;|$)", re.IGNORECASE)


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str  # /invitations/{invitation_id}
    authorized: bool
    function: str  # the function's logical id
    pattern: re.Pattern[str]

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _compile(path: str) -> re.Pattern[str]:
    parts = []
    for segment in path.strip("/").split("/"):
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        single = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            parts.append(f"(?P<{greedy[1]}>.+)")
        elif single:
            parts.append(f"(?P<{single[1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


def _specificity(route: ApiRoute) -> tuple[int, ...]:
    # API Gateway prefers literal segments over {param}, and {param} over {greedy+}.
    return tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in route.path.strip("/").split("/"))


def route_table(specs: list[FunctionSpec]) -> list[ApiRoute]:
    routes = [
        ApiRoute(r.method, r.path, r.authorized, spec.logical_id, _compile(r.path))
        for spec in specs
        for r in spec.routes
    ]
    return sorted(routes, key=_specificity)


def match(routes: list[ApiRoute], method: str, raw_path: str) -> tuple[ApiRoute, dict[str, str]] | None:
    for route in routes:
        found = route.pattern.match(raw_path)
        if found and route.method in (method, "ANY"):
            return route, {name: unquote(value) for name, value in found.groupdict().items()}
    return None


@dataclass(frozen=True)
class HttpRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]  # as received, in order, repeated names kept
    body: bytes
    source_ip: str
    server_port: int

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


class BodyRefused(ValueError):
    """A local endpoint's body that is not one JSON object, with the status and code to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The body of a request to one of the local endpoints (/_local/...): one JSON object, `{}`
    when empty. Raises BodyRefused: 400 for malformed JSON, 422 for anything but an object."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise BodyRefused(400, "malformed_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BodyRefused(422, "validation_error", "The request body must be a JSON object.")
    return body


def _combined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Payload 2.0 has no multi-value fields: repeated names are joined with commas."""
    combined: dict[str, str] = {}
    for name, value in pairs:
        combined[name] = f"{combined[name]},{value}" if name in combined else value
    return combined


def _body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = request.header("content-type") or ""
    if _TEXT_TYPES.match(content_type):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    # Anything else (forms, binary) reaches the function base64-encoded, as API Gateway sends it.
    return base64.b64encode(request.body).decode("ascii"), True


def build_event(
    request: HttpRequest, route: ApiRoute, path_parameters: dict[str, str], claims: dict[str, str] | None
) -> dict[str, Any]:
    now = time.time()
    headers = _combined([(k.lower(), v) for k, v in request.headers if k.lower() != "cookie"])
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-port", str(request.server_port))
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}")
    cookie_header = request.header("cookie")
    cookies = [c.strip() for c in cookie_header.split(";") if c.strip()] if cookie_header else None
    query = _combined(parse_qsl(request.raw_query, keep_blank_values=True)) if request.raw_query else {}
    host = headers.get("host", f"127.0.0.1:{request.server_port}")
    request_context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": base64.b64encode(uuid.uuid4().bytes[:10]).decode("ascii"),
        "routeKey": route.key,
        "stage": STAGE,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    body, encoded = _body(request)
    if body is not None:
        event["body"] = body
        event["isBase64Encoded"] = encoded
    return event


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def json(cls, status: int, payload: Any, *extra: tuple[str, str]) -> "HttpResponse":
        return cls(status, [("Content-Type", "application/json"), *extra], json.dumps(payload).encode())


def gateway_error(status: int, message: str, *extra: tuple[str, str]) -> HttpResponse:
    """API Gateway's own answers (not the service's): `{"message": "..."}`."""
    return HttpResponse.json(status, {"message": message}, *extra)


def to_http_response(result: Any) -> HttpResponse:
    """The function's payload 2.0 answer. Anything but a dict with a statusCode is taken, as API
    Gateway takes it, for a 200 JSON body; a malformed answer is a 500."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return HttpResponse.json(200, result)
    try:
        status = int(result["statusCode"])
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers += [(str(name), str(v)) for v in values]
        headers += [("Set-Cookie", str(c)) for c in result.get("cookies") or []]
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    except (TypeError, ValueError, binascii.Error):
        return gateway_error(500, "Internal Server Error")
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, raw)
