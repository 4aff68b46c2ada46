"""The local API Gateway itself, without starting anything: the events it builds have the shape of
the real ones kept in events/, and a function that crashes is answered as API Gateway answers."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from local.apigw import HttpRequest, build_event, match, route_table, to_http_response
from local.auth import Authorizer, InvalidToken, as_event_claims, mint
from local.gateway import Gateway
from local.lambdas import FunctionHost, LocalFunction
from local.template import ROOT, FunctionSpec, functions, load_template

EVENTS = ROOT / "events"
TEMPLATE = load_template()
SPECS = functions(TEMPLATE, {name: name for name in list(TEMPLATE["Parameters"]) + list(TEMPLATE["Resources"])})
ROUTES = route_table(SPECS)


def _shape(value: Any) -> Any:
    """Keys all the way down (the values differ from one request to the next)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return type(value).__name__


def _request(method: str, path: str, *, body: bytes = b"", **headers: str) -> HttpRequest:
    raw_path, _, query = path.partition("?")
    pairs = [("Host", "127.0.0.1:3000"), ("User-Agent", "clinician-app/1.0"), *headers.items()]
    return HttpRequest(method, raw_path, query, [(k.replace("_", "-"), v) for k, v in pairs], body, "127.0.0.1", 3000)


@pytest.mark.parametrize(
    ("sample", "method", "path", "body"),
    [
        ("send_invite", "POST", "/invitations", b'{"first_name": "A"}'),
        ("list_invites", "GET", "/invitations?q=hel&limit=20", b""),
        ("manage_invite", "POST", "/invitations/0123/resend", b""),
        ("patients", "GET", "/patients/fedc", b""),
        ("accept_invite", "GET", "/i/ASNFZ4mrze8", b""),
    ],
)
def test_events_have_the_shape_of_the_real_ones(sample: str, method: str, path: str, body: bytes) -> None:
    real = json.loads((EVENTS / f"{sample}.json").read_text())
    headers = {"Accept": real["headers"]["accept"]}
    if "authorization" in real["headers"]:
        headers["Authorization"] = "Bearer x"
    if body:
        headers["Content-Type"] = "application/json"
    found = match(ROUTES, method, path.partition("?")[0])
    assert found is not None
    route, parameters = found
    claims = as_event_claims(real["requestContext"]["authorizer"]["jwt"]["claims"]) if route.authorized else None
    event = build_event(_request(method, path, body=body, **headers), route, parameters, claims)

    assert _shape(event) == _shape(real) | {"headers": _shape(event["headers"])}
    assert set(real["headers"]) <= set(event["headers"])
    assert event["routeKey"] == event["requestContext"]["routeKey"] == real["routeKey"]


def test_route_and_parameters() -> None:
    found = match(ROUTES, "POST", "/invitations/abc%2Fdef/resend")
    assert found is not None and found[0].key == "POST /invitations/{invitation_id}/resend"
    assert found[1] == {"invitation_id": "abc/def"}
    assert match(ROUTES, "PUT", "/invitations") is None
    assert match(ROUTES, "GET", "/invitations/") is None


def test_bodies_are_base64_encoded_unless_text() -> None:
    route, _ = match(ROUTES, "POST", "/invitations") or (None, None)
    assert route is not None
    form = build_event(
        _request("POST", "/invitations", body=b"a=1", Content_Type="application/x-www-form-urlencoded"), route, {}, {}
    )
    assert form["isBase64Encoded"] is True and base64.b64decode(form["body"]) == b"a=1"
    text = build_event(_request("POST", "/invitations", body=b"{}", Content_Type="application/json"), route, {}, {})
    assert (text["body"], text["isBase64Encoded"]) == ("{}", False)
    bare = build_event(_request("POST", "/invitations", body=b"{}"), route, {}, {})
    assert bare["isBase64Encoded"] is True


def test_cookies_and_repeated_query_parameters() -> None:
    route, _ = match(ROUTES, "GET", "/invitations") or (None, None)
    assert route is not None
    event = build_event(_request("GET", "/invitations?status=a&status=b&q=", Cookie="a=1; b=2"), route, {}, None)
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["queryStringParameters"] == {"status": "a,b", "q": ""}
    assert "authorizer" not in event["requestContext"]


def test_function_answers_become_http_responses() -> None:
    answer = to_http_response({"statusCode": 201, "headers": {"Location": "/x"}, "cookies": ["a=1"], "body": "{}"})
    assert answer.status == 201 and ("Set-Cookie", "a=1") in answer.headers and answer.body == b"{}"
    assert to_http_response({"statusCode": "oops"}).status == 500
    plain = to_http_response({"id": 1})
    assert plain.status == 200 and json.loads(plain.body) == {"id": 1}


class _CrashingHost(FunctionHost):
    def __init__(self) -> None:
        self.functions = {spec.logical_id: LocalFunction(spec, module=None) for spec in SPECS}  # type: ignore[arg-type]

    def invoke(self, function: LocalFunction, event: dict[str, Any]) -> Any:
        raise RuntimeError("patient Hélène Dupont")  # an exception's text may hold patient data


def test_a_crashing_function_is_a_500_that_shows_no_detail(tmp_path: Path) -> None:
    gateway = Gateway(ROUTES, _CrashingHost(), Authorizer.load(tmp_path), outbox=None, clock=None)  # type: ignore[arg-type]
    outcome = gateway.handle(_request("GET", "/i/some-token"))
    assert outcome.response.status == 500
    assert json.loads(outcome.response.body) == {"message": "Internal Server Error"}
    assert outcome.label == "GET /i/{token}" and "Hélène" not in outcome.note and "RuntimeError" in outcome.note


def test_the_authorizer_checks_signature_issuer_audience_and_expiry(tmp_path: Path) -> None:
    authorizer = Authorizer.load(tmp_path)
    claims = authorizer.claims(f"Bearer {mint(tmp_path, 'c1', 'Dr A')}")
    assert (claims["sub"], claims["name"]) == ("c1", "Dr A")
    refused = [
        None,
        "Bearer nope",
        f"Bearer {mint(tmp_path, 'c1', 'Dr A', exp=1)}",
        f"Bearer {mint(tmp_path, 'c1', 'Dr A', aud='other')}",
        f"Bearer {mint(tmp_path, 'c1', 'Dr A', iss='https://elsewhere')}",
        f"Bearer {mint(tmp_path / 'other-key', 'c1', 'Dr A')}",
    ]
    for authorization in refused:
        with pytest.raises(InvalidToken):
            authorizer.claims(authorization)


def test_every_function_has_its_own_module() -> None:
    specs: list[FunctionSpec] = [s for s in SPECS if s.routes]
    from local.lambdas import import_isolated, put_layers_on_path
    from local.template import layer_dirs

    put_layers_on_path(layer_dirs(TEMPLATE))
    modules = [import_isolated(spec) for spec in specs]
    assert len({m.__name__ for m in modules}) == len(specs)
    assert len({id(m.router) for m in modules}) == len(specs)


def test_the_schedule_is_the_templates_and_runs_on_its_own() -> None:
    import threading

    from local.schedule import run_every, scheduled

    functions = {spec.logical_id: LocalFunction(spec, module=None) for spec in SPECS}  # type: ignore[arg-type]
    jobs, skipped = scheduled(functions)
    assert [(job.name, job.period_seconds) for job in jobs] == [
        ("expire_invites", 15 * 60),
        ("remind_invites", 15 * 60),
        ("sweep_outbox", 5 * 60),
    ]
    assert skipped == []

    stop, runs = threading.Event(), []

    def job() -> None:
        runs.append(1)
        if len(runs) == 3:
            stop.set()

    worker = threading.Thread(target=run_every, args=(0.01, job, stop))
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive() and len(runs) == 3


def test_the_committed_openapi_document_is_what_the_code_generates() -> None:
    from local.openapi import OPENAPI_FILE, generate

    assert OPENAPI_FILE.read_text() == generate(), "openapi.json drifted from the code: run `make openapi`"


def test_the_outbox_reads_entries_that_the_recorder_wrote_at_the_same_time() -> None:
    from local.outbox import _entries

    assert list(_entries('{"a": 1}{"b": 2}\n\n{"c": 3}\ntruncated {"d"\n')) == [{"a": 1}, {"b": 2}, {"c": 3}]
