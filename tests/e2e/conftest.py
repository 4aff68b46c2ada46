"""The local stack (`python -m local.devserver`) started once for the session, on a free port with
its own data folder, and stopped (its whole process group) at the end; plus clients for it.

Every request and answer body is remembered (tests/privacy.py), and at the end the dev server's
own output (the functions' log lines) must not contain any of those patient values."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from local import auth
from local.dynamodb_local import free_port
from local.processes import PidFile, alive
from local.template import ROOT
from tests.privacy import SENSITIVE, leaks, remember, remember_payload

READY_TIMEOUT = 120
# The outbox is asynchronous (the table's stream, then the dispatcher): what a request caused
# appears within moments (test_outbox.py: 2 s); a test waits for it, at most this long (a first,
# cold dispatch on a busy machine takes a few seconds).
WAIT_SECONDS = 10.0
REPORTS = {"InvitationDelivered", "InvitationDeliveryFailed"}  # what the providers said, not a change
POLL_SECONDS = 0.1


@dataclass
class Stack:
    url: str
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def token(self, sub: str, name: str, **claims: Any) -> str:
        return auth.mint(self.data_dir, sub, name, **claims)


def _wait_ready(stack: Stack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            pytest.fail(f"the dev server exited ({stack.process.returncode}):\n{stack.log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{stack.url}/_local/outbox", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    pytest.fail(f"the dev server was not ready in {READY_TIMEOUT} s:\n{stack.log.read_text()[-3000:]}")


def start_devserver(data_dir: Path, port: int | None = None, *options: str) -> Stack:
    port = port or free_port()
    log = data_dir / "devserver.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.devserver", "--port", str(port), "--data-dir", str(data_dir), *options],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # its own process group, stopped as a whole
        )
    stack = Stack(f"http://127.0.0.1:{port}", data_dir, log, process)
    _wait_ready(stack)
    return stack


def stop_devserver(stack: Stack, sig: signal.Signals = signal.SIGTERM) -> list[str]:
    """Stop the dev server's process group as Ctrl-C would; return what it left running."""
    children = {name: pid for name, pid in PidFile(stack.data_dir).read().items() if name != "devserver"}
    with contextlib.suppress(ProcessLookupError):
        os.killpg(stack.process.pid, sig)
    try:
        stack.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(stack.process.pid, signal.SIGKILL)
        stack.process.wait()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in children.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [name for name, pid in children.items() if alive(pid)]
    PidFile(stack.data_dir).stop_leftovers()  # never leave a process behind, even on failure
    return left


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_devserver(tmp_path_factory.mktemp("local-stack"))
    yield running
    left = stop_devserver(running)
    assert not left, f"the dev server left {left} running"
    assert_private(running)


def assert_private(stack: Stack) -> None:
    """None of the patient data the tests sent or received appears in the dev server's output."""
    found = leaks(stack.log.read_text(errors="replace"), SENSITIVE)
    assert not found, f"PRIVACY: {len(found)} patient value(s) appear in {stack.log}"


class Api:
    """A clinician's client for the local API (JSON in, JSON out), remembering patient data."""

    def __init__(self, stack: Stack, sub: str, name: str) -> None:
        self.stack = stack
        self.sub = sub
        self.name = name
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {stack.token(sub, name)}"
        self.session.headers["Accept"] = "application/json"

    def __call__(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        remember_payload(body)
        response = self.session.request(method, self.stack.url + path, json=body, timeout=30, **kwargs)
        if response.headers.get("Content-Type", "").startswith("application/json") and response.content:
            remember_payload(response.json())
        return response

    def invite(self, **fields: Any) -> dict[str, Any]:
        answer = self("POST", "/invitations", {"first_name": "Hélène", "last_name": "Dupont-Durand", **fields})
        assert answer.status_code == 201, answer.text
        return dict(answer.json())


def unique_email() -> str:
    email = f"patient-{uuid.uuid4().hex[:12]}@example.org"
    remember(email)
    return email


def simulator(kind: str) -> str:
    """An address of SES's mailbox simulator of its own (`+label`): the outbox finds its message by it."""
    return f"{kind}+{uuid.uuid4().hex[:10]}@simulator.amazonses.com"


def unique_phone() -> str:
    """A French mobile number of its own (E.164), as the service stores it."""
    digits = f"{uuid.uuid4().int % 10**6:06d}"  # 06 12 ...: a range the number plan allocates
    phone = f"+33612{digits}"
    remember(phone, f"0612{digits}")
    return phone


def eventually[T](read: Callable[[], T], done: Callable[[T], bool], timeout: float = WAIT_SECONDS) -> T:
    """What `read` gives once `done` says so, or what it gives when the time is up (the caller's
    assertion then says what was missing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(POLL_SECONDS)


@pytest.fixture
def alice(local_stack: Stack) -> Api:
    """A clinician of her own for each test: her lists hold only what the test made."""
    return Api(local_stack, f"alice-{uuid.uuid4().hex[:8]}", "Dr Alice Martin")


@pytest.fixture
def bob(local_stack: Stack) -> Api:
    return Api(local_stack, f"bob-{uuid.uuid4().hex[:8]}", "Dr Bob Lefèvre")


class Outbox:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def read(self) -> dict[str, list[dict[str, Any]]]:
        answer = requests.get(f"{self.stack.url}/_local/outbox", timeout=30)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def _until(self, pick: Callable[[dict[str, list[dict[str, Any]]]], list[dict[str, Any]]], count: int) -> Any:
        """What `pick` finds once it finds `count` of them (0: look once, without waiting)."""
        return eventually(lambda: pick(self.read()), lambda found: len(found) >= count)

    def messages_with(self, link: str, count: int = 1) -> list[dict[str, Any]]:
        """The emails and SMS that carried this link (waiting for `count` of them)."""
        return list(self._until(lambda box: [m for m in box["emails"] + box["sms"] if m["link"] == link], count))

    def emails_to(self, address: str, count: int = 1) -> list[dict[str, Any]]:
        return list(self._until(lambda box: [m for m in box["emails"] if m["to"] == address], count))

    def events(self, detail_type: str, invitation_id: str, count: int = 1) -> list[dict[str, Any]]:
        def pick(box: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
            return [
                e
                for e in box["events"]
                if e["detail_type"] == detail_type and e["detail"].get("invitation_id") == invitation_id
            ]

        return list(self._until(pick, count))

    def events_of(self, clinician_id: str, count: int = 0, reports: bool = False) -> list[dict[str, Any]]:
        """Every event about this clinician's invitations and patients (waiting for `count`): the
        changes' own events, and the providers' delivery reports only if asked (the simulators
        report every message, a moment later)."""

        def pick(box: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
            return [
                e
                for e in box["events"]
                if e["detail"].get("clinician_id") == clinician_id and (reports or e["detail_type"] not in REPORTS)
            ]

        return list(self._until(pick, count))


@pytest.fixture
def outbox(local_stack: Stack) -> Outbox:
    return Outbox(local_stack)


class Clock:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def _post(self, body: dict[str, Any]) -> str:
        answer = requests.post(f"{self.stack.url}/_local/clock", data=json.dumps(body), timeout=10)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["now"])

    def advance(self, seconds: float) -> str:
        return self._post({"advance_seconds": seconds})

    def reset(self) -> str:
        return self._post({"reset": True})


@pytest.fixture
def local_clock(local_stack: Stack) -> Iterator[Clock]:
    """The stack's test clock, back to real time after the test whatever happens."""
    moved = Clock(local_stack)
    yield moved
    moved.reset()


def run_expiry(stack: Stack) -> dict[str, Any]:
    answer = requests.post(f"{stack.url}/_local/run/expire_invites", timeout=60)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def run_schedules(stack: Stack) -> dict[str, Any]:
    answer = requests.post(f"{stack.url}/_local/run/schedules", timeout=120)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["results"])


def faults(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{stack.url}/_local/faults", data=json.dumps(body), timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["faults"])


@pytest.fixture
def local_faults(local_stack: Stack) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    """Provider faults on the stack, all cleared after the test whatever happens."""
    yield lambda body: faults(local_stack, body)
    faults(local_stack, {"reset": True})


def open_link(link: str, *, json_view: bool = True, method: str = "GET") -> requests.Response:
    remember(link, link.split("/i/", 1)[-1].split("/", 1)[0])  # the link, and its token
    headers = {"Accept": "application/json"} if json_view else {"Accept": "text/html"}
    return requests.request(method, link, headers=headers, timeout=30)


def settle(stack: Stack, outbox: Outbox) -> None:
    """Wait until the table's stream has handed over everything stored so far: one change of its
    own, and its event (the stream keeps the table's order)."""
    api = Api(stack, f"settle-{uuid.uuid4().hex[:8]}", "Dr Settle")
    invitation = api.invite(email=unique_email())
    assert outbox.events("InvitationSent", invitation["id"]), "the stream did not catch up in time"


# -- the browser (Debian's chromium, driven by Playwright): one copy for every browser test ---------

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed: `make browser` (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()
