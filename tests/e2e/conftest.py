"""The local stack (`python -m local.devserver`) started once for the session, on a free port with
its own data folder, and stopped (its whole process group) at the end; plus clients for it.

Every request and answer body is remembered (tests/privacy.py), and at the end the dev server's
own output (the functions' log lines) must not contain any of those patient values."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
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


def start_devserver(data_dir: Path, port: int | None = None) -> Stack:
    port = port or free_port()
    log = data_dir / "devserver.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local.devserver", "--port", str(port), "--data-dir", str(data_dir)],
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

    def messages_with(self, link: str) -> list[dict[str, Any]]:
        """The emails and SMS that carried this link."""
        box = self.read()
        return [m for m in box["emails"] + box["sms"] if m["link"] == link]

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in self.read()["emails"] if m["to"] == address]

    def events(self, detail_type: str, invitation_id: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.read()["events"]
            if e["detail_type"] == detail_type and e["detail"].get("invitation_id") == invitation_id
        ]


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


def open_link(link: str, *, json_view: bool = True, method: str = "GET") -> requests.Response:
    remember(link, link.split("/i/", 1)[-1].split("/", 1)[0])  # the link, and its token
    headers = {"Accept": "application/json"} if json_view else {"Accept": "text/html"}
    return requests.request(method, link, headers=headers, timeout=30)
