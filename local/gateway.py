"""One request through the local stack: the local-only routes (outbox, clock, scheduled runs),
else API Gateway's work: route, JWT authorizer, event, the function, its answer."""

import json
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.apigw import (
    ApiRoute,
    BodyRefused,
    HttpRequest,
    HttpResponse,
    build_event,
    gateway_error,
    json_object,
    match,
    to_http_response,
)
from local.auth import Authorizer, InvalidToken, as_event_claims
from local.clock import LocalClock, iso
from local.console import Console
from local.faults import Faults
from local.lambdas import ACCOUNT_ID, REGION, FunctionHost, LocalFunction
from local.outbox import Outbox, render_html
from local.template import Cors


def _local_error(status: int, code: str, message: str) -> HttpResponse:
    return HttpResponse.json(status, {"error": {"code": code, "message": message}})


def _where(error: BaseException) -> str:
    """The code location of an exception, never its message (it may quote patient data)."""
    frames = traceback.extract_tb(error.__traceback__)
    last = frames[-1] if frames else None
    location = f" at {Path(last.filename).name}:{last.lineno}" if last else ""
    return f"{type(error).__name__}{location}"


def scheduled_event(function: LocalFunction) -> dict[str, Any]:
    """What the template's schedule rule sends to the function (see events/expire_invites.json)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/invitations-local-{function.name}"],
        "detail": {},
    }


def allowed_origin(cors: Cors, origin: str) -> str | None:
    """The Access-Control-Allow-Origin value for this origin, or None when it is not allowed."""
    for allowed in cors.allow_origins:
        if allowed == "*":
            return origin if cors.allow_credentials else "*"
        if allowed.endswith("*") and origin.lower().startswith(allowed[:-1].lower()):
            return origin
        if origin.lower() == allowed.lower():
            return origin
    return None


def _origin_headers(cors: Cors, origin: str) -> list[tuple[str, str]]:
    allowed = allowed_origin(cors, origin)
    if allowed is None:
        return []
    headers = [("Access-Control-Allow-Origin", allowed)]
    if allowed != "*":
        headers.append(("Vary", "Origin"))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return headers


def preflight_headers(cors: Cors, origin: str) -> list[tuple[str, str]]:
    """API Gateway's answer to a preflight: the configuration's headers for an allowed origin,
    none for any other (the browser then refuses the call)."""
    headers = _origin_headers(cors, origin)
    if not headers:
        return []
    if cors.allow_methods:
        headers.append(("Access-Control-Allow-Methods", ",".join(cors.allow_methods)))
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", ",".join(cors.allow_headers)))
    if cors.max_age is not None:
        headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    return headers


def with_cors_headers(response: HttpResponse, cors: Cors, origin: str) -> HttpResponse:
    """A cross-origin answer: API Gateway drops the function's own CORS headers and adds the
    configuration's (Access-Control-Allow-Origin and the exposed headers) for an allowed origin."""
    kept = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
    added = _origin_headers(cors, origin)
    if added and cors.expose_headers:
        added.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    return HttpResponse(response.status, kept + added, response.body)


@dataclass
class Outcome:
    response: HttpResponse
    label: str  # what the log line may show: a route key or a local route, never a raw path
    note: str = ""


class Gateway:
    def __init__(
        self,
        routes: list[ApiRoute],
        host: FunctionHost,
        authorizer: Authorizer,
        outbox: Outbox,
        clock: LocalClock,
        cors: Cors | None = None,
        faults: Faults | None = None,
        console: Console | None = None,
    ) -> None:
        self.routes = routes
        self.console = console
        self.cors = cors
        self.faults = faults or Faults()
        self.host = host
        self.authorizer = authorizer
        self.outbox = outbox
        self.clock = clock
        self.scheduled = {f.spec.code_dir.name: f for f in host.functions.values() if f.spec.schedules}

    # -- the API ------------------------------------------------------------------------------

    def handle(self, request: HttpRequest) -> Outcome:
        if self.console is not None:  # local only: the console's page, its assets, its token and QR routes
            answered = self.console.handle(request)
            if answered is not None:
                return Outcome(*answered)
        if request.raw_path.startswith("/_local/"):
            return self._local(request)
        origin = request.header("origin")
        if self.cors is None or origin is None:
            return self._api(request)
        if request.method == "OPTIONS" and request.header("access-control-request-method"):
            # API Gateway answers a preflight itself, on any path, before routes and authorizer.
            return Outcome(HttpResponse(204, preflight_headers(self.cors, origin), b""), "OPTIONS (CORS preflight)")
        outcome = self._api(request)
        outcome.response = with_cors_headers(outcome.response, self.cors, origin)
        return outcome

    def _api(self, request: HttpRequest) -> Outcome:
        found = match(self.routes, request.method, request.raw_path)
        if found is None:
            return Outcome(gateway_error(404, "Not Found"), f"{request.method} (no route)")
        route, path_parameters = found
        claims = None
        if route.authorized:
            try:
                claims = as_event_claims(self.authorizer.claims(request.header("authorization")))
            except InvalidToken as refused:
                challenge = f'Bearer scope="" error="invalid_token" error_description="{refused}"'
                return Outcome(gateway_error(401, "Unauthorized", ("WWW-Authenticate", challenge)), route.key)
        event = build_event(request, route, path_parameters, claims)
        try:
            result = self.host.invoke(self.host.functions[route.function], event)
        except Exception as error:  # noqa: BLE001 - a crashed function is API Gateway's 500
            return Outcome(gateway_error(500, "Internal Server Error"), route.key, f"handler raised {_where(error)}")
        return Outcome(to_http_response(result), route.key)

    # -- local only -----------------------------------------------------------------------------

    def _local(self, request: HttpRequest) -> Outcome:
        path = request.raw_path
        if request.method == "GET" and path == "/_local/outbox":
            return Outcome(self._outbox(request), "GET /_local/outbox")
        if request.method == "POST" and path == "/_local/clock":
            return Outcome(self._clock(request), "POST /_local/clock")
        if request.method == "POST" and path == "/_local/faults":
            return Outcome(self._faults(request), "POST /_local/faults")
        if request.method == "POST" and path == "/_local/run/schedules":
            return self.run_schedules("POST /_local/run/schedules")
        if request.method == "POST" and path.startswith("/_local/run/"):
            name = path.removeprefix("/_local/run/")
            function = self.scheduled.get(name)
            if function is not None:
                return self.run_scheduled(function, f"POST /_local/run/{name}")
        return Outcome(gateway_error(404, "Not Found"), f"{request.method} (no local route)")

    def _outbox(self, request: HttpRequest) -> HttpResponse:
        snapshot = self.outbox.snapshot()
        accept = (request.header("accept") or "").lower()
        if "text/html" in accept and "application/json" not in accept:
            headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
            return HttpResponse(200, headers, render_html(snapshot).encode())
        return HttpResponse.json(200, snapshot)

    def _faults(self, request: HttpRequest) -> HttpResponse:
        try:
            return HttpResponse.json(200, self.faults.configure(json_object(request)))
        except BodyRefused as refused:
            return _local_error(refused.status, refused.code, str(refused))
        except ValueError as problem:
            return _local_error(422, "validation_error", str(problem))

    def _clock(self, request: HttpRequest) -> HttpResponse:
        try:
            body = json_object(request)
        except BodyRefused as refused:
            return _local_error(refused.status, refused.code, str(refused))
        advance = body.get("advance_seconds")
        try:
            if body.get("reset") is True:
                now = self.clock.reset()
            elif isinstance(advance, int | float) and not isinstance(advance, bool):
                now = self.clock.advance(float(advance))
            else:
                raise ValueError('give {"advance_seconds": N} or {"reset": true}')
        except ValueError as problem:
            return _local_error(422, "validation_error", str(problem))
        return HttpResponse.json(200, {"now": iso(now), "offset_seconds": self.clock.offset()})

    def run_schedules(self, label: str) -> Outcome:
        """Every scheduled function of the template once, now, in the template's order: each one's
        result (or its error type, as Lambda reports a function error)."""
        results: dict[str, Any] = {}
        notes = []
        for name, function in self.scheduled.items():
            outcome = self.run_scheduled(function, label)
            results[name] = json.loads(outcome.response.body)
            if outcome.response.status != 200:
                notes.append(f"{name}: {outcome.note}")
        status = 500 if notes else 200
        return Outcome(HttpResponse.json(status, {"results": results}), label, "; ".join(notes))

    def run_scheduled(self, function: LocalFunction, label: str) -> Outcome:
        try:
            result = self.host.invoke(function, scheduled_event(function))
        except Exception as error:  # noqa: BLE001 - reported as Lambda reports a function error
            return Outcome(HttpResponse.json(500, {"errorType": type(error).__name__}), label, _where(error))
        return Outcome(HttpResponse.json(200, result), label)
