"""`make smoke` runs against `make dev` inside `make test`: the same code as after a deploy."""

import uuid

import pytest

from local.smoke import Smoke
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("accept", [False, True])
def test_the_smoke_test_passes_against_the_local_stack_and_cleans_up(local_stack: Stack, accept: bool) -> None:
    lines: list[str] = []
    token = local_stack.token(f"smoke-{uuid.uuid4().hex[:8]}", "Dr Smoke")
    smoke = Smoke(local_stack.url, token, say=lines.append)
    smoke.run(accept=accept)
    assert lines and all(line.startswith("ok") for line in lines), lines
    assert smoke.created == []
    left = Smoke(local_stack.url, token)._call("GET", "/invitations", 200).json()["items"]
    assert [i["status"] for i in left] == (["accepted"] if accept else [])
