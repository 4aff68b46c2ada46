"""Provider faults for `make dev` (`POST /_local/faults`): the next N calls to SES, SNS or
EventBridge fail as AWS fails them when throttled, each call is made slower, or calls beyond a
rate a second are refused (SES's sending rate). Local only: the functions run in the dev
server's process and build their clients from one botocore session (invitations.runtime), and a
`before-call` handler on that session answers for the provider when a fault says so, so the code
under test sees a real botocore ClientError. In memory: a restarted `make dev` has none."""

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

# The docs' targets -> botocore's hyphenized service id (the `before-call.<id>` event).
SERVICES = {"email": "ses", "sms": "sns", "events": "eventbridge"}
# What each provider answers when it throttles: a transient refusal (HTTP 400, retry later).
THROTTLED = {
    "email": ("Throttling", "Maximum sending rate exceeded."),
    "sms": ("Throttling", "Rate exceeded."),
    "events": ("ThrottlingException", "Rate exceeded."),
}
_HANDLER_ID = "local-faults"


@dataclass
class Fault:
    fail_next: int = 0
    delay_ms: int = 0
    rate_per_s: float | None = None
    _calls: deque[float] = field(default_factory=deque)  # monotonic times of the calls let through (rate)

    def active(self) -> bool:
        return bool(self.fail_next or self.delay_ms or self.rate_per_s is not None)

    def describe(self) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        if self.fail_next:
            shown["fail_next"] = self.fail_next
        if self.delay_ms:
            shown["delay_ms"] = self.delay_ms
        if self.rate_per_s is not None:
            shown["rate_per_s"] = self.rate_per_s
        return shown


def _number(body: dict[str, Any], key: str, *, integer: bool) -> float | None:
    if key not in body:
        return None
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value:
        raise ValueError(f"{key} must be a number, zero or more")
    if integer and int(value) != value:
        raise ValueError(f"{key} must be a whole number")
    if value > 1_000_000:
        raise ValueError(f"{key} is too large")
    return float(value)


class Faults:
    """The active faults, by target; consulted by every SES, SNS and EventBridge call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}

    # -- configuration (POST /_local/faults) -------------------------------------------------------

    def configure(self, body: Any) -> dict[str, Any]:
        """Apply one request body; answers the active faults. ValueError: not a valid request."""
        if not isinstance(body, dict):
            raise ValueError("the request body must be a JSON object")
        if body.get("reset") is True:
            if set(body) - {"reset"}:
                raise ValueError('{"reset": true} takes nothing else')
            self.reset()
            return self.active()
        target = body.get("target")
        if target not in SERVICES:
            raise ValueError(f'give "target": one of {", ".join(sorted(SERVICES))} (or {{"reset": true}})')
        unknown = set(body) - {"target", "fail_next", "delay_ms", "rate_per_s"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        fail_next = _number(body, "fail_next", integer=True)
        delay_ms = _number(body, "delay_ms", integer=True)
        rate = _number(body, "rate_per_s", integer=False)
        if fail_next is None and delay_ms is None and rate is None:
            raise ValueError('give "fail_next": N, "delay_ms": D or "rate_per_s": R')
        if rate == 0:
            raise ValueError("rate_per_s must be more than zero")
        with self._lock:
            fault = self._faults.setdefault(target, Fault())
            if fail_next is not None:
                fault.fail_next = int(fail_next)
            if delay_ms is not None:
                fault.delay_ms = int(delay_ms)
            if rate is not None:
                fault.rate_per_s = rate
                fault._calls.clear()
        return self.active()

    def reset(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> dict[str, Any]:
        with self._lock:
            return {"faults": {t: f.describe() for t, f in sorted(self._faults.items()) if f.active()}}

    # -- the calls ----------------------------------------------------------------------------------

    def refusal(self, target: str) -> tuple[str, str] | None:
        """Called before each call to `target`'s provider: waits the delay, then says whether this
        call is refused (its error code and message) or goes through."""
        with self._lock:
            fault = self._faults.get(target)
            delay = fault.delay_ms / 1000 if fault else 0.0
        if delay:
            time.sleep(delay)
        with self._lock:
            fault = self._faults.get(target)
            if fault is None:
                return None
            if fault.fail_next > 0:
                fault.fail_next -= 1
                return THROTTLED[target]
            if fault.rate_per_s is not None:
                now = time.monotonic()
                while fault._calls and now - fault._calls[0] >= 1.0:
                    fault._calls.popleft()
                if len(fault._calls) >= fault.rate_per_s:
                    return THROTTLED[target]
                fault._calls.append(now)
            return None

    def install(self, session: Any) -> None:
        """Register on a boto3 (or botocore) session's events: every client it builds from now on
        consults the faults. Idempotent (a unique id per service)."""
        events = session.events if hasattr(session, "events") else session.get_component("event_emitter")
        for target, service in SERVICES.items():
            events.register(
                f"before-call.{service}",
                _Handler(self, target),
                unique_id=f"{_HANDLER_ID}-{service}",
            )


@dataclass(frozen=True)
class _Handler:
    faults: Faults
    target: str

    def __call__(self, model: Any = None, params: Any = None, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        refused = self.faults.refusal(self.target)
        if refused is None:
            return None
        code, message = refused
        url = (params or {}).get("url", "") if isinstance(params, dict) else ""
        response = AWSResponse(url, 400, {"x-amzn-errortype": code}, None)
        parsed = {
            "Error": {"Code": code, "Message": message, "Type": "Sender"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        return response, parsed
