"""The scheduled expire_invites: once each, resumable, through its real handler and event."""

import json
from datetime import timedelta

from tests.support import EVENTS, FakeContext, call, handler_of


def run_job(remaining_ms: int = 300_000) -> dict:
    event = json.loads((EVENTS / "expire_invites.json").read_text())
    return handler_of("expire_invites")(event, FakeContext(remaining_ms))


def send_some(n: int) -> list[str]:
    ids = []
    for i in range(n):
        body = {"first_name": f"Expiry{i}", "last_name": "Durandal", "email": f"e{i}@example.org"}
        ids.append(call("POST", "/invitations", body).json["id"])
    return ids


def test_overdue_pending_invitations_expire_once_each(stack, clock):
    ids = send_some(3)
    clock.advance(days=14, seconds=-1)
    assert run_job() == {"expired": 0, "complete": True}
    clock.advance(seconds=1)
    assert run_job() == {"expired": 3, "complete": True}
    assert run_job() == {"expired": 0, "complete": True}
    assert sorted(e["detail"]["invitation_id"] for e in stack.events("InvitationExpired")) == sorted(ids)
    assert {call("GET", f"/invitations/{i}").json["status"] for i in ids} == {"expired"}


def test_accepted_and_resent_ones_are_left_alone(stack, clock):
    from tests.support import token_of

    [a, b, c] = send_some(3)
    call("POST", f"/i/{token_of(call('GET', f'/invitations/{a}').json['link'])}/accept")
    clock.advance(days=10)
    call("POST", f"/invitations/{b}/resend")
    clock.advance(days=4)
    assert run_job()["expired"] == 1
    assert [e["detail"]["invitation_id"] for e in stack.events("InvitationExpired")] == [c]


def test_a_run_short_of_time_stops_and_the_next_one_resumes(stack, clock):
    send_some(3)
    clock.advance(days=15)
    assert run_job(remaining_ms=5_000) == {"expired": 0, "complete": False}
    assert run_job()["expired"] == 3


def _items_of(invitation_id: str) -> dict[str, dict]:
    """The invitation's own item, its history and its name entries, as stored (moto's table)."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    raw = boto3.client("dynamodb").scan(TableName="invitations-test")["Items"]
    items = [{k: TypeDeserializer().deserialize(v) for k, v in item.items()} for item in raw]
    return {
        item["pk"] if item["sk"] == "INV" else item["sk"]: item
        for item in items
        if (item["pk"] == f"INV#{invitation_id}" and (item["sk"] == "INV" or item["sk"].startswith("HIST#")))
        or (item["pk"].startswith("NAME#") and item.get("invitation_id") == invitation_id)
    }


def test_an_expired_invitation_its_name_entries_and_history_carry_the_retention_ttl_until_resent(stack, clock):
    from tests.support import STREAM

    [invitation_id] = send_some(1)
    clock.advance(days=15)
    assert run_job()["expired"] == 1
    STREAM.drain()  # the expiry's event dispatched: the history aligned
    items = _items_of(invitation_id)
    invitation = items.pop(f"INV#{invitation_id}")
    expires_at = clock.current - timedelta(days=1)  # sent 15 days ago, valid 14
    assert invitation["ttl"] == int(expires_at.timestamp()) + 90 * 86400  # RetentionDays after expiry
    history = sorted(entry["history_type"] for entry in items.values() if "history_type" in entry)
    assert history == ["dispatched", "expired", "sent"]
    assert len(items) == 5 and {entry.get("ttl") for entry in items.values()} == {invitation["ttl"]}

    assert call("POST", f"/invitations/{invitation_id}/resend").status == 200
    assert all("ttl" not in item for item in _items_of(invitation_id).values())
