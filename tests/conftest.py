"""Shared fixtures. Every log line the suite produces is captured, and at the end of the run no
patient name, email, phone or link token may appear in it."""

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from invitations import runtime
from tests import support
from tests.fakes import FrozenClock
from tests.privacy import SENSITIVE, leaks

_PRIVACY_DIR = "INVITATIONS_PRIVACY_DIR"


def _worker(config: pytest.Config) -> str:
    return getattr(config, "workerinput", {}).get("workerid", "main")


def pytest_configure(config: pytest.Config) -> None:
    """Send every log line of this process (Powertools' JSON and any other logger) to a file."""
    from invitations.observability import logger

    if _worker(config) == "main":
        os.environ[_PRIVACY_DIR] = tempfile.mkdtemp(prefix="privacy-")  # inherited by xdist workers
    log_file = Path(os.environ[_PRIVACY_DIR]) / f"{_worker(config)}.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logging.getLogger().addHandler(logging.FileHandler(log_file, encoding="utf-8"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    folder = Path(os.environ[_PRIVACY_DIR])
    worker = _worker(session.config)
    (folder / f"{worker}.values").write_text(json.dumps(sorted(SENSITIVE)), encoding="utf-8")
    if worker != "main":
        return  # the main process checks every worker's logs against every worker's values
    values = set().union(*(json.loads(f.read_text(encoding="utf-8")) for f in folder.glob("*.values")))
    logs = "\n".join(f.read_text(encoding="utf-8") for f in folder.glob("*.log"))
    found = leaks(logs, values)
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nPRIVACY: {len(found)} test patient value(s) appeared in log lines: {sorted(found)}")
    else:
        print(f"\nprivacy: {len(values)} patient values checked against {len(logs)} characters of logs")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in support.ENV.items():
        monkeypatch.setenv(name, value)
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    runtime.reset()
    yield support.ENV
    runtime.reset()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def stack(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, clock: FrozenClock) -> Iterator[Any]:
    """The whole stack in moto, built from template.yaml, with the service's clock frozen."""
    monkeypatch.setenv("TABLE_NAME", "invitations-test")
    with mock_aws():
        created = support.create_stack("invitations-test")
        runtime.services().clock = clock
        yield support.Recorder(created["queue_url"])
