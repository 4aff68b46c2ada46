"""`make dev` as a developer lives it: one Ctrl-C stops everything, a restart loses nothing (data,
links, outbox, tokens), and a run killed outright has its leftovers stopped by the next one."""

import signal
from pathlib import Path

import pytest
import requests

from local.processes import PidFile, alive
from tests.e2e.conftest import Api, assert_private, open_link, start_devserver, stop_devserver, unique_email

pytestmark = pytest.mark.e2e


def test_ctrl_c_stops_everything_and_a_restart_loses_nothing(tmp_path: Path) -> None:
    first = start_devserver(tmp_path)
    try:
        alice = Api(first, "restart-alice", "Dr Alice Martin")
        invitation = alice.invite(email=unique_email())
        accepted = alice.invite(email=unique_email())
        assert open_link(accepted["link"] + "/accept", method="POST").status_code == 200
        children = PidFile(tmp_path).read()
        assert set(children) == {"devserver", "moto", "dynamodb"}
    finally:
        left = stop_devserver(first, signal.SIGINT)
    assert left == [] and not any(alive(pid) for pid in children.values())
    assert first.process.returncode == 0
    assert "Stopped." in first.log.read_text()

    second = start_devserver(tmp_path, port=int(first.url.rsplit(":", 1)[1]))
    try:
        alice.stack = second  # the same token: the signing key is kept too
        kept = alice("GET", f"/invitations/{invitation['id']}")
        assert kept.status_code == 200 and kept.json()["link"] == invitation["link"]
        assert open_link(invitation["link"]).status_code == 200  # links survive: the secret is kept
        box = requests.get(f"{second.url}/_local/outbox", timeout=10).json()
        assert [m["link"] for m in box["emails"]] == [invitation["link"], accepted["link"]]
        kinds = [e["detail_type"] for e in box["events"]]
        assert kinds == ["InvitationSent", "InvitationSent", "InvitationAccepted"]
    finally:
        assert stop_devserver(second) == []
    assert_private(second)


def test_a_killed_run_leaves_nothing_behind_after_the_next_start(tmp_path: Path) -> None:
    first = start_devserver(tmp_path)
    children = {k: v for k, v in PidFile(tmp_path).read().items() if k != "devserver"}
    first.process.send_signal(signal.SIGKILL)  # no chance to clean up: Java and moto are orphaned
    first.process.wait()
    assert all(alive(pid) for pid in children.values())

    second = start_devserver(tmp_path)
    try:
        assert not any(alive(pid) for pid in children.values())
        assert "Stopped what a previous run left behind" in second.log.read_text()
    finally:
        assert stop_devserver(second) == []
