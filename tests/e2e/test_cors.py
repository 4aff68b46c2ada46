"""CORS for a web clinician app, as the template configures it (AllowedOrigins): the local stack
started with ALLOWED_ORIGINS standing for the parameter, a page served from another local origin
calling the API from Debian's chromium (Playwright, never a downloaded browser). Preflights are
answered by the gateway itself, never by a function; another origin gets no CORS header."""

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from local.dynamodb_local import free_port
from tests.e2e.conftest import Stack, assert_private, eventually, start_devserver, stop_devserver
from tests.privacy import remember

pytestmark = [pytest.mark.e2e]

PAGE = b"<!doctype html><html><head><title>clinician app</title></head><body>web app</body></html>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class CorsStack:
    stack: Stack
    app_origin: str  # allowed: the web clinician app
    other_origin: str  # not allowed: same page, another origin


@pytest.fixture(scope="module")
def cors_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorsStack]:
    web = ThreadingHTTPServer(("127.0.0.1", free_port()), _Page)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    port = web.server_address[1]
    app_origin, other_origin = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    before = os.environ.get("ALLOWED_ORIGINS")
    os.environ["ALLOWED_ORIGINS"] = f"{app_origin},https://clinic.example.org"
    try:
        stack = start_devserver(tmp_path_factory.mktemp("cors-stack"))
    finally:
        if before is None:
            os.environ.pop("ALLOWED_ORIGINS", None)
        else:
            os.environ["ALLOWED_ORIGINS"] = before
    yield CorsStack(stack, app_origin, other_origin)
    left = stop_devserver(stack)
    web.shutdown()
    web.server_close()
    assert not left, f"the dev server left {left} running"
    assert_private(stack)


def preflight(stack: Stack, path: str, origin: str, method: str = "POST") -> requests.Response:
    return requests.options(
        stack.url + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
        },
        timeout=10,
    )


def test_the_gateway_answers_a_preflight_for_an_allowed_origin(cors_stack):
    answer = preflight(cors_stack.stack, "/invitations", cors_stack.app_origin)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == cors_stack.app_origin
    assert {"GET", "POST", "PATCH", "DELETE"} <= set(answer.headers["Access-Control-Allow-Methods"].split(","))
    allowed_headers = set(answer.headers["Access-Control-Allow-Headers"].split(","))
    assert {"authorization", "content-type", "idempotency-key"} <= allowed_headers
    assert answer.headers["Access-Control-Max-Age"] == "600"
    # API Gateway's answer, before routes and the authorizer: no function was called. (The server
    # logs a request once it has answered it: the line may come a moment after the answer.)
    logged = eventually(cors_stack.stack.log.read_text, lambda text: "OPTIONS (CORS preflight) 204" in text)
    assert "OPTIONS (CORS preflight) 204" in logged


def test_a_preflight_on_a_public_route_needs_no_token(cors_stack):
    answer = preflight(cors_stack.stack, "/i/not-a-token/accept", cors_stack.app_origin)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == cors_stack.app_origin


def test_another_origin_gets_no_cors_header(cors_stack):
    answer = preflight(cors_stack.stack, "/invitations", cors_stack.other_origin)
    assert answer.status_code == 204
    assert not [h for h in answer.headers if h.lower().startswith("access-control-")]
    plain = requests.get(cors_stack.stack.url + "/invitations", headers={"Origin": cors_stack.other_origin}, timeout=10)
    assert plain.status_code == 401
    assert "Access-Control-Allow-Origin" not in plain.headers


def test_errors_carry_the_cors_headers_too(cors_stack):
    """A 401 from the authorizer must reach the web app's code, not a CORS failure."""
    answer = requests.get(cors_stack.stack.url + "/invitations", headers={"Origin": cors_stack.app_origin}, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["Access-Control-Allow-Origin"] == cors_stack.app_origin


FETCH = """async ({url, token}) => {
  try {
    const sent = await fetch(url + "/invitations", {
      method: "POST",
      headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json",
                "Idempotency-Key": "cors-" + Date.now()},
      body: JSON.stringify({first_name: "Hélène", last_name: "Dupont-Cors", email: "cors-patient@example.org"}),
    });
    const listed = await fetch(url + "/invitations", {headers: {"Authorization": "Bearer " + token}});
    return {status: sent.status, location: sent.headers.get("Location"), listed: listed.status};
  } catch (error) {
    return {error: String(error)};
  }
}"""


@contextlib.contextmanager
def page_at(browser: Any, origin: str, shots: Path) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.goto(origin + "/")
    try:
        yield page
    finally:
        page.screenshot(path=str(shots / "cors-page.png"))
        context.close()


@pytest.mark.browser
def test_the_web_app_calls_the_api_from_its_own_origin(cors_stack, browser, tmp_path):
    remember("Hélène", "Dupont-Cors", "cors-patient@example.org")
    token = cors_stack.stack.token("cors-clinician", "Dr Cors")
    with page_at(browser, cors_stack.app_origin, tmp_path) as page:
        result = page.evaluate(FETCH, {"url": cors_stack.stack.url, "token": token})
    assert result.get("error") is None, result
    assert result["status"] == 201
    assert result["location"].startswith("/invitations/")  # readable: an exposed header
    assert result["listed"] == 200


@pytest.mark.browser
def test_a_page_from_another_origin_is_refused_by_the_browser(cors_stack, browser, tmp_path):
    token = cors_stack.stack.token("cors-intruder", "Dr Other")
    with page_at(browser, cors_stack.other_origin, tmp_path) as page:
        result = page.evaluate(FETCH, {"url": cors_stack.stack.url, "token": token})
    assert "error" in result and "Failed to fetch" in result["error"], result
