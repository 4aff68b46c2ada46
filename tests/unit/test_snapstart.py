"""The SnapStart hooks (invitations.snapstart): nothing at import, registered once, a warm
snapshot without the link secret, and after each restore fresh clients, settings, secret and
random numbers of the environment's own."""

import os
import random
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import snapshot_restore_py
from moto import mock_aws

from invitations import runtime, snapstart
from invitations.settings import get_settings
from local.template import ROOT

ENV = {
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "TABLE_NAME": "invitations-snapstart",
    "EVENT_BUS_NAME": "invitations-snapstart",
    "PUBLIC_BASE_URL": "https://invite.example.org",
    "LINK_SECRET_ID": "snapstart-link-secret",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    with mock_aws():
        secrets = boto3.client("secretsmanager")
        secrets.create_secret(Name=ENV["LINK_SECRET_ID"], SecretString="first-secret")
        yield secrets
    runtime.reset()


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapstart, "_registered", None)
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])


def test_importing_the_module_does_nothing():
    script = (
        "import sys, snapshot_restore_py, invitations.snapstart\n"
        "assert not snapshot_restore_py.get_before_snapshot() and not snapshot_restore_py.get_after_restore()\n"
        "from invitations import runtime\n"
        "assert runtime.client.cache_info().currsize == 0 and runtime.link_secret.cache_info().currsize == 0\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "shared")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_register_adds_both_hooks_once(clean_registry):
    assert snapstart.register() is True
    assert snapstart.register("dynamodb") is True  # a second call (another handler) changes nothing
    assert snapshot_restore_py.get_before_snapshot() == [(snapstart.before_snapshot, (snapstart.SERVICES,), {})]
    assert snapshot_restore_py.get_after_restore() == [(snapstart.after_restore, (snapstart.SERVICES,), {})]


def test_register_may_name_the_services_of_one_function(clean_registry):
    snapstart.register("dynamodb", "secretsmanager")
    [(_, args, _)] = snapshot_restore_py.get_after_restore()
    assert args == (("dynamodb", "secretsmanager"),)


def test_without_snapshot_restore_py_nothing_is_registered(clean_registry, monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # as in tests and `make dev`
    assert snapstart.register() is False
    assert snapstart._registered is None


def test_before_snapshot_primes_settings_and_clients_but_keeps_no_secret(aws):
    assert runtime.link_secret() == b"first-secret"  # as if the handler's init had read it
    snapstart.before_snapshot()
    assert get_settings.cache_info().currsize == 1
    assert runtime.client.cache_info().currsize == len(snapstart.SERVICES)
    assert runtime.link_secret.cache_info().currsize == 0


def test_before_snapshot_imports_every_module_of_the_package():
    imported: list[str] = []
    names = snapstart.prime_imports(importer=lambda name: imported.append(name) or sys.modules[__name__])
    assert imported == names
    assert {"invitations.runtime", "invitations.settings", "invitations.snapstart"} <= set(names)
    assert all(name.startswith("invitations.") or name in snapstart.LAZY_IMPORTS for name in names)
    assert set(snapstart.LAZY_IMPORTS) & set(names), "the validators imported on first use are primed too"


def test_after_restore_builds_fresh_clients_and_rereads_the_secret_and_settings(aws, monkeypatch):
    snapstart.before_snapshot()
    snapshot_client = runtime.client("dynamodb")
    assert runtime.link_secret() == b"first-secret"
    aws.put_secret_value(SecretId=ENV["LINK_SECRET_ID"], SecretString="rotated-secret")
    monkeypatch.setenv("TABLE_NAME", "invitations-restored")

    snapstart.after_restore()

    assert runtime.client.cache_info().currsize == len(snapstart.SERVICES)  # built before the first request
    assert runtime.client("dynamodb") is not snapshot_client
    assert get_settings().table_name == "invitations-restored"
    assert runtime.link_secret() == b"rotated-secret"


def test_each_restored_environment_draws_its_own_random_numbers(aws):
    snapshot_state = random.getstate()  # what every environment restored from one snapshot shares
    snapstart.after_restore()
    first = [random.random() for _ in range(3)]
    random.setstate(snapshot_state)
    snapstart.after_restore()
    second = [random.random() for _ in range(3)]
    assert first != second
