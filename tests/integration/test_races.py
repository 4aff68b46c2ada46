"""Races, with real threads, against AWS's DynamoDB Local (moto does not serialise concurrent
writes as DynamoDB does). Nothing may end in an impossible state, whatever the interleaving.

The threads call the use cases the handlers call (one service per "container"): Powertools'
resolver keeps the current event in class-level state, so one process cannot run two handler
invocations at once — in Lambda each container runs one at a time."""

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import boto3
import pytest
from moto import mock_aws

from invitations import runtime
from invitations.domain.errors import DomainError, InvitationAccepted, LinkGone
from invitations.domain.invitation import Contact
from invitations.use_cases import expiry, managing, patient_link, sending
from invitations.use_cases.base import Clinician
from local.dynamodb_local import DynamoDBLocal
from tests import support
from tests.support import token_of

pytestmark = pytest.mark.dynamodb_local
ALICE = Clinician("clinician-alice", "Dr Alice Martin")
ROUNDS = 8


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as server:
        yield server


@pytest.fixture
def local_stack(aws_env, monkeypatch, dynamodb_local, clock) -> Iterator[support.Recorder]:
    table = f"races-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    monkeypatch.setenv("TABLE_NAME", table)
    with mock_aws():
        created = support.create_stack(table)
        runtime.services().clock = clock
        monkeypatch.setattr(support, "STREAM", support.LocalStream(dynamodb_local.endpoint, table))
        yield support.Recorder(created["queue_url"])


def invite(n: int = 0) -> tuple[str, str]:
    contact = Contact("Racer", f"Course{n}", f"racer{n}@example.org", None)
    services = runtime.services()
    invitation = sending.send(services, ALICE, contact)
    return invitation.id, token_of(services.links.url(invitation.id, invitation.link_version))


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Start every action at the same instant; each returns its result or the domain error it raised."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return action()
        except DomainError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return list(pool.map(run, actions))


def accept(token: str) -> Any:
    return patient_link.accept(runtime.services(), token)


def patients_of(invitation_id: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").scan(TableName=runtime.get_settings().table_name, ConsistentRead=True)["Items"]
    return [i for i in items if i.get("type", {}).get("S") == "patient" and i["invitation_id"]["S"] == invitation_id]


def test_twenty_concurrent_accepts_make_one_patient_and_one_event(local_stack):
    invitation_id, token = invite()
    results = race(*[partial(accept, token)] * 20)
    assert all(not isinstance(r, Exception) for r in results), results
    assert len({r.patient_id for r in results}) == 1
    assert len(patients_of(invitation_id)) == 1
    assert len(local_stack.events("InvitationAccepted")) == 1


def test_accept_racing_delete_has_exactly_one_winner(local_stack):
    services = runtime.services()
    for n in range(ROUNDS):
        invitation_id, token = invite(n)
        accepted, deleted = race(partial(accept, token), partial(managing.delete, services, ALICE, invitation_id))
        if isinstance(accepted, LinkGone):  # the delete won: the link is dead, no patient
            assert deleted is None
            assert patients_of(invitation_id) == []
            with pytest.raises(LinkGone):
                patient_link.view(services, token)
        else:  # the accept won: the delete is refused
            assert isinstance(deleted, InvitationAccepted), deleted
            assert len(patients_of(invitation_id)) == 1
            assert managing.get(services, ALICE, invitation_id).stored_status == "accepted"
    accepted_events = local_stack.events("InvitationAccepted")
    deleted_events = local_stack.events("InvitationDeleted")
    assert len(accepted_events) + len(deleted_events) == ROUNDS


@pytest.mark.parametrize("change", ["resend", "correct_email"])
def test_accept_racing_a_new_link_accepts_the_old_one_or_kills_it_never_both(local_stack, change):
    services = runtime.services()
    for n in range(ROUNDS):
        invitation_id, old_token = invite(n)
        if change == "resend":
            replace_link = partial(sending.resend, services, ALICE, invitation_id)
        else:
            replace_link = partial(managing.correct, services, ALICE, invitation_id, {"email": f"new{n}@example.org"})
        accepted, replaced = race(partial(accept, old_token), replace_link)
        if isinstance(accepted, LinkGone):  # the new link won: the old one is dead, the new one works
            assert not isinstance(replaced, Exception), replaced
            assert patients_of(invitation_id) == []
            new_token = token_of(services.links.url(replaced.id, replaced.link_version))
            assert new_token != old_token
            assert patient_link.accept(services, new_token).stored_status == "accepted"
            with pytest.raises(LinkGone):
                patient_link.accept(services, old_token)
        else:  # the old link was accepted: the change is refused
            assert accepted.stored_status == "accepted", accepted
            assert isinstance(replaced, InvitationAccepted), replaced
            assert len(patients_of(invitation_id)) == 1


def test_two_expiry_runs_at_once_expire_each_invitation_once(local_stack, clock):
    services = runtime.services()
    ids = {invite(n)[0] for n in range(10)}
    clock.advance(days=15)
    runs = race(*[partial(expiry.expire_overdue, services, has_time=lambda: True)] * 2)
    assert sum(run.expired for run in runs) == len(ids) and all(run.complete for run in runs)
    expired_events = local_stack.events("InvitationExpired")
    assert sorted(e["detail"]["invitation_id"] for e in expired_events) == sorted(ids)
    assert {managing.get(services, ALICE, i).stored_status for i in ids} == {"expired"}


def test_twenty_parallel_sends_cannot_pass_a_limit_of_three(local_stack):
    services = runtime.services()
    contact = Contact("Racer", "Limite", "limite@example.org", None)
    results = race(*[partial(sending.send, services, ALICE, contact)] * 20)
    sent = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(sent) == 3 and len(refused) == 17, results
    assert all(r.code in ("too_many_sends", "concurrent_update") for r in refused)
    assert len(local_stack.emails()) == 3
