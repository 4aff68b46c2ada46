"""The outbox through the real handlers: every change's event and message go out once the stream
hands them over, whatever fails, and never twice; a poison entry is retried, bisected and given
up on without blocking the others, and the sweeper finds it; nothing waits for a provider."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from invitations import runtime
from invitations.adapters.dynamo.items import history_from, history_item, history_query, history_ttl
from invitations.domain import history
from tests.support import EVENTS, FakeContext, call, failed_batches, handler_of, links_in, token_of

HELENE = {"first_name": "Hélène", "last_name": "Dispatchova", "email": "helene.dispatchova@example.org"}


def _fail(service: str, times: int):
    """The next `times` calls to that provider fail as AWS fails them (throttled)."""
    client = runtime.client(service)
    left = {"n": times}

    def refuse(**_kwargs):
        if left["n"] > 0:
            left["n"] -= 1
            return _throttled()
        return None

    client.meta.events.register("before-call.*.*", refuse)
    return left


def _throttled():
    raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "Call")


def test_no_provider_is_called_on_a_requests_path(stack, monkeypatch):
    """With every provider failing, every route still answers as the contract says."""
    from tests import support

    monkeypatch.setattr(support.STREAM, "drain", lambda: None)  # the stream has not run yet
    for service in ("ses", "sns", "events"):
        runtime.client(service).meta.events.register("before-call.*.*", lambda **_: _throttled())
    created = call("POST", "/invitations", HELENE)
    assert created.status == 201 and created.json["delivery"]["status"] == "queued"
    inv_id = created.json["id"]
    assert call("POST", f"/invitations/{inv_id}/resend").status == 200
    assert call("PATCH", f"/invitations/{inv_id}", {"last_name": "Autre"}).status == 200
    token = token_of(call("GET", f"/invitations/{inv_id}").json["link"])
    accepted = call("POST", f"/i/{token}/accept")
    assert accepted.status == 200
    patient = accepted.json["patient_id"]
    assert call("POST", f"/patients/{patient}/leave").status == 200
    other = call("POST", "/invitations", {**HELENE, "email": "autre@example.org"}).json["id"]
    assert call("DELETE", f"/invitations/{other}").status == 204


def _sweep() -> dict:
    event = json.loads((EVENTS / "sweep_outbox.json").read_text())
    return handler_of("sweep_outbox")(event, FakeContext(remaining_ms=300_000))


def test_with_the_bus_failing_for_a_while_every_event_goes_out_once(stack, clock):
    _fail("events", 10)  # more than the stream's retries: some entries are left to the sweeper
    ids = [call("POST", "/invitations", {**HELENE, "email": f"h{n}@example.org"}).json["id"] for n in range(4)]
    call("PATCH", f"/invitations/{ids[0]}", {"last_name": "Corrigé"})
    call("POST", f"/invitations/{ids[1]}/resend")
    call("DELETE", f"/invitations/{ids[2]}")
    token = token_of(call("GET", f"/invitations/{ids[3]}").json["link"])
    call("POST", f"/i/{token}/accept")
    clock.advance(minutes=10)
    _sweep()
    events = stack.events()
    counts = {t: sum(1 for e in events if e["detail-type"] == t) for t in {e["detail-type"] for e in events}}
    assert counts == {
        "InvitationSent": 5,
        "InvitationCorrected": 1,
        "InvitationDeleted": 1,
        "InvitationAccepted": 1,
    }
    event_ids = [e["detail"]["event_id"] for e in events]
    assert len(set(event_ids)) == len(event_ids) == 8  # 0 lost, 0 twice
    assert len(stack.emails()) == 5  # four sends and a resend (the deleted one's went out before)


def test_with_ses_failing_three_times_the_email_goes_once_and_ends_sent(stack):
    _fail("ses", 3)
    inv = call("POST", "/invitations", HELENE).json
    [mail] = stack.emails()
    assert links_in(mail["body"])[0] == inv["link"]
    assert call("GET", f"/invitations/{inv['id']}").json["delivery"]["status"] == "sent"
    history = [h["type"] for h in call("GET", f"/invitations/{inv['id']}/history").json["items"]]
    assert history == ["sent", "dispatched"]


def test_a_poison_entry_is_given_up_on_without_blocking_the_others_and_the_sweeper_counts_it(stack, clock, monkeypatch):
    from invitations.use_cases import dispatch

    real = dispatch.dispatch
    poisoned: set[str] = set()

    def poisoned_dispatch(services, invitation_id, event_id):
        if invitation_id in poisoned:
            raise RuntimeError("poison")
        return real(services, invitation_id, event_id)

    monkeypatch.setattr(dispatch, "dispatch", poisoned_dispatch)
    first = call("POST", "/invitations", HELENE).json["id"]
    poisoned.add(first)
    call("POST", f"/invitations/{first}/resend")  # its entry fails every time
    after = call("POST", "/invitations", {**HELENE, "email": "apres@example.org"}).json["id"]
    [given_up] = failed_batches()
    assert given_up["DDBStreamBatchInfo"]["batchSize"] == 1  # bisected down to the poison record
    assert [e["detail"]["invitation_id"] for e in stack.events("InvitationSent")] == [first, after]
    clock.advance(minutes=10)
    swept = _sweep()
    assert swept == {"undone": 1, "dispatched": 0}
    poisoned.clear()
    clock.advance(minutes=10)
    swept = _sweep()
    assert swept == {"undone": 1, "dispatched": 1}
    assert len(stack.events("InvitationSent")) == 3


def test_a_message_made_stale_before_dispatch_is_not_sent(stack, monkeypatch):
    from tests import support

    drain = support.STREAM.drain
    monkeypatch.setattr(support.STREAM, "drain", lambda: None)
    inv = call("POST", "/invitations", HELENE).json
    call("PATCH", f"/invitations/{inv['id']}", {"email": "corrige@example.org"})
    gone = call("POST", "/invitations", {**HELENE, "email": "efface@example.org"}).json
    call("DELETE", f"/invitations/{gone['id']}")
    monkeypatch.setattr(support.STREAM, "drain", drain)
    assert stack.emails() == []  # the first went to an old address; the second was deleted
    assert call("GET", f"/invitations/{inv['id']}").json["delivery"]["status"] == "not_sent"
    history = call("GET", f"/invitations/{inv['id']}/history").json["items"]
    assert [h["type"] for h in history] == ["sent", "corrected", "not_sent"]
    assert history[2] == {
        "type": "not_sent",
        "at": history[2]["at"],
        "actor": "system",
        "actor_id": None,
        "channel": "email",
        "detail": "link replaced",
    }


def test_history_is_the_owners_and_holds_no_patient_data(stack):
    from tests.support import BOB

    inv = call("POST", "/invitations", HELENE).json
    call("PATCH", f"/invitations/{inv['id']}", {"first_name": "Léa"})
    answer = call("GET", f"/invitations/{inv['id']}/history")
    assert answer.status == 200
    assert [(h["type"], h["actor"], h["actor_id"]) for h in answer.json["items"]] == [
        ("sent", "clinician", "clinician-alice"),
        ("dispatched", "system", None),
        ("corrected", "clinician", "clinician-alice"),
    ]
    text = answer.text.lower()
    assert "léa" not in text and "hélène" not in text and "dispatchova@" not in text and "/i/" not in text
    assert call("GET", f"/invitations/{inv['id']}/history", as_=BOB).status == 404
    call("DELETE", f"/invitations/{inv['id']}")
    assert call("GET", f"/invitations/{inv['id']}/history").status == 404


def _partition(invitation_id: str) -> list[dict]:
    return boto3.client("dynamodb").query(
        TableName="invitations-test",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"INV#{invitation_id}"}},
    )["Items"]


def test_every_item_of_an_invitation_is_one_query_away(stack):
    inv = call("POST", "/invitations", HELENE).json
    call("POST", f"/invitations/{inv['id']}/resend")
    items = _partition(inv["id"])
    kinds = sorted(i["type"]["S"] for i in items)
    assert kinds == ["history"] * 4 + ["invitation"] + ["outbox"] * 2
    done = [i for i in items if i["type"]["S"] == "outbox"]
    assert all("ttl" in i and "undone_pk" not in i for i in done)  # done: out of the sweeper's index, expiring


def test_after_a_deletion_every_history_entry_expires_with_the_tombstone(stack, clock):
    inv = call("POST", "/invitations", HELENE).json
    call("PATCH", f"/invitations/{inv['id']}", {"last_name": "Corrigé"})
    assert all("ttl" not in i for i in _partition(inv["id"]) if i["type"]["S"] == "history")
    clock.advance(hours=3)
    assert call("DELETE", f"/invitations/{inv['id']}").status == 204  # the stream dispatched its event
    items = _partition(inv["id"])
    [tombstone] = [i for i in items if i["type"]["S"] == "invitation"]
    assert tombstone["ttl"] == {"N": str(int(clock.now().timestamp()) + 90 * 86400)}  # RetentionDays after deletion
    entries = [i for i in items if i["type"]["S"] == "history"]
    assert sorted(i["history_type"]["S"] for i in entries) == ["corrected", "deleted", "dispatched", "sent"]
    assert all(i.get("ttl") == tombstone["ttl"] for i in entries)


def test_a_history_item_carries_its_retention_as_the_ttl():
    at = datetime(2026, 1, 5, 9, 0, 0, 500_000, tzinfo=UTC)
    entry = history.delivery_outcome("0" * 32, "not_sent", at, "email", "e1", "invitation deleted")
    until = at + timedelta(days=90)
    item = history_item(replace(entry, kept_until=until))
    assert item["ttl"] == {"N": str(int(until.timestamp()))} and "kept_until" not in item
    assert history_from(item) == replace(entry, kept_until=until.replace(microsecond=0))
    bare = history_item(entry)
    assert "ttl" not in bare and history_from(bare) == entry


def test_only_an_entry_whose_ttl_differs_is_written_and_only_while_it_is_there():
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    entry = history.delivery_outcome("0" * 32, "dispatched", at, "email", "e1")
    item, until = history_item(entry), at + timedelta(days=90)
    assert history_ttl(item, None) is None
    update = history_ttl(item, until)
    assert update is not None
    assert update["Update"]["Key"] == {"pk": item["pk"], "sk": item["sk"]}
    assert update["Update"]["UpdateExpression"] == "SET #ttl = :ttl"
    assert update["Update"]["ExpressionAttributeValues"] == {":ttl": {"N": str(int(until.timestamp()))}}
    assert update["Update"]["ConditionExpression"] == "attribute_exists(pk)"
    with_ttl = history_item(replace(entry, kept_until=until))
    assert history_ttl(with_ttl, until) is None
    removal = history_ttl(with_ttl, None)
    assert removal is not None and removal["Update"]["UpdateExpression"] == "REMOVE #ttl"
    assert "ExpressionAttributeValues" not in removal["Update"]
    query = history_query("0" * 32, consistent=True)
    assert query["ConsistentRead"] is True and "ConsistentRead" not in history_query("0" * 32)


def test_the_adapter_writes_only_the_entries_that_differ_and_brings_no_erased_one_back(stack, clock):
    from invitations.adapters.dynamo.unit_of_work import DynamoUnitOfWork
    from invitations.domain.errors import ConcurrentChange

    inv = call("POST", "/invitations", HELENE).json
    [gone, kept] = [i for i in _partition(inv["id"]) if i["type"]["S"] == "history"]
    key = {"pk": gone["pk"], "sk": gone["sk"]}
    boto3.client("dynamodb").delete_item(TableName="invitations-test", Key=key)  # erased by TTL meanwhile
    with pytest.raises(ConcurrentChange):
        runtime.table().write([history_ttl(gone, clock.now())])
    invitation = DynamoUnitOfWork(runtime.table()).invitations.get(inv["id"])
    assert invitation is not None
    tombstone = replace(invitation, stored_status="deleted", deleted_at=clock.now())
    assert DynamoUnitOfWork(runtime.table()).history.align(tombstone) == 1
    assert DynamoUnitOfWork(runtime.table()).history.align(tombstone) == 0
    [entry] = [i for i in _partition(inv["id"]) if i["type"]["S"] == "history"]
    assert entry["sk"] == kept["sk"] and entry["ttl"] == {"N": str(int(clock.now().timestamp()) + 90 * 86400)}
    assert DynamoUnitOfWork(runtime.table()).history.align(invitation) == 1  # revived: the ttl removed
    assert all("ttl" not in i for i in _partition(inv["id"]) if i["type"]["S"] == "history")


def test_an_entry_whose_invitation_was_only_read_is_written_only_if_it_is_still_as_read(stack, clock):
    """The entry takes its retention from the invitation as read: a change to the invitation
    committed meanwhile (a resend, a deletion) refuses it, and the use case reads again."""
    from invitations.adapters.dynamo.unit_of_work import DynamoUnitOfWork
    from invitations.domain.errors import ConcurrentChange

    inv = call("POST", "/invitations", HELENE).json
    uow = DynamoUnitOfWork(runtime.table())
    assert uow.invitations.get(inv["id"]) is not None  # read, not written
    uow.record(history.report(inv["id"], "delivered", clock.now(), "email", "r-late", None))
    clock.advance(minutes=1)
    assert call("DELETE", f"/invitations/{inv['id']}").status == 204  # commits first
    with pytest.raises(ConcurrentChange):
        uow.commit()
    assert "r-late" not in json.dumps(_partition(inv["id"]))  # nothing of it was written
    again = DynamoUnitOfWork(runtime.table())
    tombstone = again.invitations.get(inv["id"])
    assert tombstone is not None
    again.record(history.report(inv["id"], "delivered", clock.now(), "email", "r-late", None))
    again.commit()
    [late] = [i for i in _partition(inv["id"]) if "r-late" in json.dumps(i)]
    [item] = [i for i in _partition(inv["id"]) if i["type"]["S"] == "invitation"]
    assert late["ttl"] == item["ttl"]  # the tombstone's retention, read after the deletion


@pytest.mark.parametrize("function", ["dispatch", "sweep_outbox"])
def test_the_sample_events_are_handled(stack, function):
    answer = handler_of(function)(json.loads((EVENTS / f"{function}.json").read_text()), FakeContext())
    assert answer in ({"batchItemFailures": []}, {"undone": 0, "dispatched": 0})
