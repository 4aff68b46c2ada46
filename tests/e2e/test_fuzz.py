"""Schemathesis against the local stack, driven by the committed openapi.json (generated from the
code): whatever it sends, never a 5xx, and every 4xx of the service in the contract's error
format. Bounded: a fixed number of examples per operation, derandomized, so it stays fast and
reproducible."""

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from local.openapi import OPENAPI_FILE
from tests.e2e.conftest import Stack
from tests.privacy import remember_payload

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 25

schema = schemathesis.openapi.from_path(OPENAPI_FILE)
schema.config.generation.update(modes=list(schemathesis.GenerationMode), max_examples=MAX_EXAMPLES, deterministic=True)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])


@pytest.fixture(scope="module")
def bearer(local_stack: Stack) -> str:
    return local_stack.token("fuzz-clinician", "Dr Fuzz")


def _is_contract_error(body: Any) -> bool:
    error = body.get("error") if isinstance(body, dict) else None
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
        and set(error) <= {"code", "message", "fields"}
    )


def _reproduce(case: Any) -> str:
    """The failing request as a curl command (the bearer token left out)."""
    return str(case.as_curl_command(headers={"Authorization": "Bearer $TOKEN"}))


def _from_api_gateway(status: int, body: Any) -> bool:
    """API Gateway's own answers, given before any function runs: its authorizer's 401, and its 404
    when no route matches (the coverage phase tries TRACE, PUT, empty path segments...). That every
    documented route exists in template.yaml is checked when openapi.json is generated."""
    return (status, body) in ((401, {"message": "Unauthorized"}), (404, {"message": "Not Found"}))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_4xx_in_the_contract_format(case: Any, local_stack: Stack, bearer: str) -> None:
    # JSON clients (the clinician app, scripts) say so: the patient routes then answer JSON too.
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    response = case.call(base_url=local_stack.url, headers=headers, timeout=30)
    described = f"{case.method} {case.path} -> {response.status_code}"
    assert response.status_code < 500, f"{described}: {response.text[:300]}\n{_reproduce(case)}"
    if 400 <= response.status_code < 500:
        body = response.json()
        remember_payload(body)
        if _from_api_gateway(response.status_code, body):
            return
        assert _is_contract_error(body), f"{described}: {response.text[:300]}"


NON_JSON = [
    ("text/plain", b'{"first_name": "A", "last_name": "B", "email": "a@example.org"}'),
    ("application/xml", b"<invitation/>"),
    ("multipart/form-data", b"--x--"),
    ("application/x-www-form-urlencoded", b'{"first_name": "A", "email": "a@example.org"}'),
    ("application/json", b'{"first_name": "\xff"}'),  # not UTF-8
    (None, b"\xff\xfe"),  # no Content-Type: API Gateway sends it base64-encoded
]


# Every body is JSON: anything else is refused in the contract format (415, or 400 when not
# UTF-8), before the framework parses it, and never echoed back.
@pytest.mark.parametrize(
    ("content_type", "body"), NON_JSON, ids=["text", "xml", "multipart", "form", "not-utf8", "no-type"]
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/invitations"), ("PATCH", "/patients/p1")])
def test_a_body_that_is_not_json_is_refused_in_the_contract_format(
    local_stack: Stack, bearer: str, method: str, path: str, content_type: str | None, body: bytes
) -> None:
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    response = requests.request(method, local_stack.url + path, data=body, headers=headers, timeout=10)
    assert 400 <= response.status_code < 500, f"{content_type}: {response.status_code} {response.text[:200]}"
    assert _is_contract_error(response.json())
    assert "example.org" not in response.text  # never an echo of the input
