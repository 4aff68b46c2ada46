"""`make dev` as a developer lives it: one Ctrl-C stops everything, a restart loses nothing (data,
links, outbox, tokens, what was stored and not yet dispatched), a run killed outright has its
leftovers stopped by the next one, and a data folder made by an older version is brought up to
the template."""

import signal
import time
from pathlib import Path

import pytest
import requests

from local.aws_stack import STACK_NAME
from local.dynamodb_local import DynamoDBLocal
from local.processes import PidFile, alive
from local.template import load_template, table_definition
from tests.e2e.conftest import (
    Api,
    Outbox,
    assert_private,
    open_link,
    start_devserver,
    stop_devserver,
    unique_email,
    unique_phone,
)

pytestmark = pytest.mark.e2e


def test_ctrl_c_stops_everything_and_a_restart_loses_nothing(tmp_path: Path) -> None:
    first = start_devserver(tmp_path)
    try:
        alice = Api(first, "restart-alice", "Dr Alice Martin")
        invitation = alice.invite(email=unique_email())
        accepted = alice.invite(email=unique_email())
        assert Outbox(first).messages_with(accepted["link"])  # sent before it is accepted (else: stale, not sent)
        assert open_link(accepted["link"] + "/accept", method="POST").status_code == 200
        assert len(Outbox(first).events_of("restart-alice", count=3)) == 3  # dispatched before the stop
        late = alice.invite(phone=unique_phone())  # stopped right after: dispatched now or after the restart
        children = PidFile(tmp_path).read()
        assert set(children) == {"devserver", "moto", "dynamodb"}
    finally:
        left = stop_devserver(first, signal.SIGINT)
    assert left == [] and not any(alive(pid) for pid in children.values())
    assert first.process.returncode == 0
    assert "Stopped." in first.log.read_text()

    second = start_devserver(tmp_path, int(first.url.rsplit(":", 1)[1]))
    try:
        alice.stack = second  # the same token: the signing key is kept too
        kept = alice("GET", f"/invitations/{invitation['id']}")
        assert kept.status_code == 200 and kept.json()["link"] == invitation["link"]
        assert open_link(invitation["link"]).status_code == 200  # links survive: the secret is kept
        outbox = Outbox(second)
        assert [m["to"] for m in outbox.messages_with(late["link"])] == [late["phone"]]
        box = requests.get(f"{second.url}/_local/outbox", timeout=10).json()
        assert [m["link"] for m in box["emails"]] == [invitation["link"], accepted["link"]]
        kinds = [e["detail_type"] for e in outbox.events_of("restart-alice", count=4)]
        assert kinds == ["InvitationSent", "InvitationSent", "InvitationAccepted", "InvitationSent"]
    finally:
        assert stop_devserver(second) == []
    assert_private(second)


def _older_table(data_dir: Path) -> None:
    """The table as an older version made it: no stream, no Undone index."""
    definition = table_definition(load_template())
    definition.pop("StreamSpecification")
    definition["GlobalSecondaryIndexes"] = [
        g for g in definition["GlobalSecondaryIndexes"] if g["IndexName"] != "Undone"
    ]
    used = {k["AttributeName"] for k in definition["KeySchema"]} | {
        k["AttributeName"] for g in definition["GlobalSecondaryIndexes"] for k in g["KeySchema"]
    }
    definition["AttributeDefinitions"] = [a for a in definition["AttributeDefinitions"] if a["AttributeName"] in used]
    with DynamoDBLocal(db_path=data_dir / "dynamodb") as dynamodb:
        dynamodb.client().create_table(TableName=f"{STACK_NAME}-Table", **definition)


def test_an_older_folder_is_upgraded_and_a_killed_run_loses_no_change_and_leaves_nothing(tmp_path: Path) -> None:
    _older_table(tmp_path)
    # The dispatcher down (the stream is not read): changes are stored, nothing goes out.
    first = start_devserver(tmp_path, None, "--hold-stream")
    assert "stream enabled; index Undone added" in first.log.read_text()
    alice = Api(first, "killed-alice", "Dr Alice Martin")
    by_email = alice.invite(email=unique_email())
    by_sms = alice.invite(phone=unique_phone())
    assert open_link(by_email["link"] + "/accept", method="POST").status_code == 200
    time.sleep(1)
    box = Outbox(first).read()
    assert box == {"emails": [], "sms": [], "events": []}

    children = {k: v for k, v in PidFile(tmp_path).read().items() if k != "devserver"}
    first.process.send_signal(signal.SIGKILL)  # no chance to clean up: Java and moto are orphaned
    first.process.wait()
    assert all(alive(pid) for pid in children.values())

    second = start_devserver(tmp_path, int(first.url.rsplit(":", 1)[1]))  # the same port: the same links
    try:
        assert not any(alive(pid) for pid in children.values())
        assert "Stopped what a previous run left behind" in second.log.read_text()
        assert "(kept)" in second.log.read_text()
        # What was stored before the kill goes out now, once (the stream is read from where it stopped).
        outbox = Outbox(second)
        kinds = [e["detail_type"] for e in outbox.events_of("killed-alice", count=3)]
        assert kinds == ["InvitationSent", "InvitationSent", "InvitationAccepted"]
        assert len(outbox.messages_with(by_sms["link"])) == 1
        # Accepted before its turn came: the email is stale, never sent, and the history says so.
        assert outbox.messages_with(by_email["link"], count=0) == []
        alice.stack = second
        history = alice("GET", f"/invitations/{by_email['id']}/history").json()["items"]
        assert "not_sent" in [item["type"] for item in history]
    finally:
        assert stop_devserver(second) == []
