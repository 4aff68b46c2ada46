"""API Gateway HTTP API (payload 2.0) events shaped like the real samples in events/: the one
builder the in-process tests and the benchmarks share (the dev server builds its events from real
HTTP requests instead: local/apigw.py)."""

import copy
import functools
import json
from typing import Any
from urllib.parse import urlencode

from local.template import ROOT

EVENTS = ROOT / "events"


@functools.cache
def _sample(function: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{function}.json").read_text()))


def api_event(
    function: str,
    method: str,
    route: str,
    path: str,
    path_parameters: dict[str, str] | None = None,
    *,
    claims: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    accept: str = "application/json",
) -> dict[str, Any]:
    """`events/<function>.json` made into this request: `route` in API Gateway's form
    (/invitations/{invitation_id}), `path` as requested, `claims` as the JWT authorizer passes
    them (None: no authorizer), `body` as sent (JSON text)."""
    event = copy.deepcopy(_sample(function))
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["pathParameters"] = path_parameters or None
    event["rawQueryString"] = urlencode(query or {})
    event["queryStringParameters"] = {k: str(v) for k, v in (query or {}).items()} or None
    event["headers"] = {k: v for k, v in event["headers"].items() if k not in ("authorization", "content-type")}
    event["headers"]["accept"] = accept
    event["headers"].update({k.lower(): v for k, v in (headers or {}).items()})
    if body is not None:
        event["body"] = body
        event["headers"].setdefault("content-type", "application/json")
    else:
        event.pop("body", None)
    if claims is not None:
        event["headers"]["authorization"] = "Bearer local"
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    else:
        event["requestContext"].pop("authorizer", None)
    return event
