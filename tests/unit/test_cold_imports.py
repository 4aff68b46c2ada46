"""What a function's cold start imports: the heavy validators only where a body is validated,
and nothing that reaches AWS at import time (clients are built on first use)."""

import ast
import functools
import json
import subprocess
import sys

import pytest

from tests.support import ROOT

_PROBE = """
import json, sys
sys.path[:0] = sys.argv[1:]
import app
from invitations import runtime
print(json.dumps({
    "modules": sorted(m.split(".")[0] for m in sys.modules),
    "own": sorted(m for m in sys.modules if m.startswith("invitations.")),
    "idempotency": "aws_lambda_powertools.utilities.idempotency" in sys.modules,
    "clients_built": runtime.client.cache_info().currsize,
    "service_built": runtime.services.cache_info().currsize,
}))
"""


@functools.cache  # two tests read each function's probe
def _imported_by(function: str) -> dict:
    paths = [str(ROOT / "functions" / function), str(ROOT / "layers" / "shared")]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *paths], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    "function", ["send_invite", "list_invites", "manage_invite", "patients", "accept_invite", "expire_invites"]
)
def test_importing_a_handler_builds_no_client_and_no_validator(function):
    imported = _imported_by(function)
    assert imported["clients_built"] == 0 and imported["service_built"] == 0
    assert "phonenumbers" not in imported["modules"]
    assert "email_validator" not in imported["modules"]
    # Powertools' idempotency is loaded by the first request with an Idempotency-Key, not at import.
    assert not imported["idempotency"]


# What a function does not load at import because its requests may never need it: the write side
# and the entities it stores, the request models where no body is validated, other resources'
# answers (each module is classes to create at every cold start). They are imported on first use.
WRITE_SIDE = {"adapters.dynamo.unit_of_work", "domain.outbox", "domain.delivery"}
# runtime.AwsServices builds each adapter (and imports its module) when a request first reaches it.
ADAPTERS = {"adapters.dynamo.queries", "adapters.ses_sns", "adapters.eventbridge", "adapters.pseudonyms", "tokens"}
NOT_AT_IMPORT = {
    "list_invites": WRITE_SIDE | {"domain.quotas", "domain.patient", "models.requests", "models.patients"},
    "patients": WRITE_SIDE | {"domain.quotas", "models.invitations", "models.links"},
    "accept_invite": WRITE_SIDE | {"domain.quotas", "models.requests", "models.invitations", "models.patients"},
    "expire_invites": WRITE_SIDE | {"domain.quotas", "domain.patient", "models.requests"},
    "send_invite": WRITE_SIDE | {"domain.patient"},
    "manage_invite": WRITE_SIDE | {"domain.patient"},
}


@pytest.mark.parametrize("function", sorted(NOT_AT_IMPORT))
def test_a_handler_loads_only_what_its_requests_may_need(function):
    own = {name.removeprefix("invitations.") for name in _imported_by(function)["own"]}
    assert "domain.invitation" in own  # the probe sees the layer's modules
    assert not own & (NOT_AT_IMPORT[function] | ADAPTERS)


def _dataclasses_of(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ClassDef) and any("dataclass" in ast.unparse(d) for d in node.decorator_list):
            yield node


@pytest.mark.parametrize(
    "path", sorted((ROOT / "layers" / "shared").rglob("*.py")), ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_every_dataclass_of_the_layer_has_a_docstring(path):
    # Without one, @dataclass writes one from inspect.signature(cls) when the module is imported:
    # about half the class's creation time, paid by every cold start that imports it.
    for node in _dataclasses_of(path):
        assert ast.get_docstring(node), f"{path.name}: {node.name}"


def test_the_docstring_check_finds_the_dataclasses():
    layer = ROOT / "layers" / "shared" / "invitations"
    assert [n.name for n in _dataclasses_of(layer / "domain" / "invitation.py")] == [
        "DeliveryOutcome",
        "Contact",
        "Invitation",
    ]


def test_the_aws_services_build_each_adapter_on_first_use_and_keep_it(aws_env, monkeypatch):
    from invitations import runtime
    from invitations.adapters.dynamo.queries import DynamoQueries
    from invitations.adapters.dynamo.unit_of_work import DynamoUnitOfWork
    from invitations.adapters.eventbridge import AwsEventPublisher
    from invitations.adapters.pseudonyms import HmacPseudonyms
    from invitations.adapters.ses_sns import AwsMessenger
    from invitations.tokens import SignedCursors, SignedLinks

    monkeypatch.setenv("TABLE_NAME", "invitations-test")
    services = runtime.services()
    built = {"queries": DynamoQueries, "messenger": AwsMessenger, "events": AwsEventPublisher}
    built |= {"links": SignedLinks, "cursors": SignedCursors, "pseudonyms": HmacPseudonyms}
    assert not built.keys() & vars(services).keys()  # nothing built yet
    for port, adapter in built.items():
        assert isinstance(getattr(services, port), adapter)
        assert getattr(services, port) is getattr(services, port)
    assert services.links._signer is services.cursors._signer  # one signer, one cached ring
    assert isinstance(services.unit_of_work(), DynamoUnitOfWork)
    assert services.unit_of_work() is not services.unit_of_work()  # a new one for each change
    assert runtime.client.cache_info().currsize == 1  # DynamoDB's only: nothing was called
