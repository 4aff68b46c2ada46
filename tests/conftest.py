"""Shared fixtures. Every log line the suite produces is captured, and at the end of the run no
patient name, email, phone or link token may appear in it."""

import io
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from invitations import runtime
from invitations.clock import FrozenClock
from tests import support
from tests.privacy import SENSITIVE, leaks

_CAPTURED = io.StringIO()


def pytest_configure(config: pytest.Config) -> None:
    from invitations.observability import logger

    handler = logging.StreamHandler(_CAPTURED)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logging.getLogger().addHandler(logging.StreamHandler(_CAPTURED))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = leaks(_CAPTURED.getvalue(), SENSITIVE)
    if found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nPRIVACY: {len(found)} test patient value(s) appeared in log lines: {sorted(found)}")
    else:
        print(f"\nprivacy: {len(SENSITIVE)} patient values checked against {_CAPTURED.tell()} characters of logs")


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
        runtime.get_service().clock = clock
        yield support.Recorder(created["queue_url"])
