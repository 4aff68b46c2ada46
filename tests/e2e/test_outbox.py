"""The outbox locally, through `make dev`: the table's stream hands every stored change to the
dispatcher within moments; a provider that fails (POST /_local/faults) delays what it carries but
loses nothing and sends nothing twice; what the stream gave up on, the sweeper dispatches."""

import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.conftest import (
    Api,
    Clock,
    Outbox,
    Stack,
    eventually,
    open_link,
    run_schedules,
    settle,
    unique_email,
    unique_phone,
)

pytestmark = pytest.mark.e2e

Faults = Callable[[dict[str, Any]], dict[str, Any]]
SWEEP_AFTER_SECONDS = 3 * 60  # an entry still not done after this is the sweeper's


def test_a_message_is_in_the_outbox_within_2_seconds_of_its_request(
    alice: Api, outbox: Outbox, local_stack: Stack
) -> None:
    settle(local_stack, outbox)  # the stream has nothing else to do first
    for contact in ({"email": unique_email()}, {"phone": unique_phone()}):
        started = time.monotonic()
        invitation = alice.invite(**contact)
        link = invitation["link"]
        found = eventually(lambda link=link: outbox.messages_with(link, count=0), bool, timeout=2)
        elapsed = time.monotonic() - started
        assert found and elapsed < 2, f"{contact.keys()}: {elapsed:.2f} s"


def test_faults_are_set_answered_and_reset(local_faults: Faults, local_stack: Stack) -> None:
    assert local_faults({"target": "email", "fail_next": 2}) == {"email": {"fail_next": 2}}
    assert local_faults({"target": "sms", "delay_ms": 50}) == {"email": {"fail_next": 2}, "sms": {"delay_ms": 50}}
    assert local_faults({"target": "events", "rate_per_s": 5})["events"] == {"rate_per_s": 5}
    assert local_faults({"reset": True}) == {}
    for wrong in ({"target": "fax", "fail_next": 1}, {"target": "email"}, {"target": "email", "fail_next": -1}, []):
        answer = requests.post(f"{local_stack.url}/_local/faults", json=wrong, timeout=10)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error", wrong


def test_ses_failing_3_times_delivers_the_email_once(
    alice: Api, outbox: Outbox, local_stack: Stack, local_faults: Faults
) -> None:
    settle(local_stack, outbox)
    local_faults({"target": "email", "fail_next": 3})
    invitation = alice.invite(email=unique_email())
    assert invitation["delivery"]["status"] == "queued"

    [mail] = outbox.messages_with(invitation["link"])  # the 4th attempt
    assert mail["link"] == invitation["link"]
    delivery = eventually(
        lambda: alice("GET", f"/invitations/{invitation['id']}").json()["delivery"],
        lambda found: found["status"] != "queued",
    )
    assert delivery["status"] in ("sent", "delivered")  # delivered once the simulator reports it
    assert local_faults({"target": "sms", "delay_ms": 0}) == {}  # the 3 failures were used up
    settle(local_stack, outbox)
    assert len(outbox.messages_with(invitation["link"])) == 1
    history = alice("GET", f"/invitations/{invitation['id']}/history").json()["items"]
    assert [item["type"] for item in history].count("dispatched") == 1


def _fifty_changes(alice: Api, links: set[str]) -> Counter[tuple[str, str]]:
    """50 changes of every kind, each raising one event: (detail-type, invitation id) -> count;
    every link given out is added to `links`."""
    made: Counter[tuple[str, str]] = Counter()

    def ok(answer: requests.Response) -> dict[str, Any]:
        assert answer.status_code in (200, 201, 204), answer.text
        return dict(answer.json()) if answer.content else {}

    invitations = []
    for n in range(15):  # 15 sends
        contact = {"email": unique_email()} if n % 2 else {"phone": unique_phone()}
        invitations.append(alice.invite(**contact))
        links.add(invitations[-1]["link"])
        made["InvitationSent", invitations[-1]["id"]] += 1
    for invitation in invitations[:8]:  # 8 resends
        invitation.update(ok(alice("POST", f"/invitations/{invitation['id']}/resend")))
        links.add(invitation["link"])
        made["InvitationSent", invitation["id"]] += 1
    for n, invitation in enumerate(invitations[6:]):  # 9 corrections: names, then contacts
        change = (
            {"first_name": f"Hélèna{n}"}
            if n % 2
            else ({"email": unique_email()} if invitation["email"] else {"phone": unique_phone()})
        )
        ok(alice("PATCH", f"/invitations/{invitation['id']}", change))
        made["InvitationCorrected", invitation["id"]] += 1
    patients = []
    for invitation in invitations[:6]:  # 6 acceptances, through the current links
        accepted = open_link(invitation["link"] + "/accept", method="POST")
        assert accepted.status_code == 200, accepted.text
        patients.append(accepted.json()["patient_id"])
        made["InvitationAccepted", invitation["id"]] += 1
    for patient_id, invitation in zip(patients, invitations, strict=False):  # 6 patients leave their thread
        ok(alice("POST", f"/patients/{patient_id}/leave"))
        made["PatientThreadLeft", invitation["id"]] += 1
    for invitation in invitations[6:12]:  # 6 deletions
        ok(alice("DELETE", f"/invitations/{invitation['id']}"))
        made["InvitationDeleted", invitation["id"]] += 1
    assert sum(made.values()) == 50
    return made


def test_an_eventbridge_outage_loses_no_event_and_publishes_none_twice(
    local_stack: Stack, outbox: Outbox, local_faults: Faults, local_clock: Clock
) -> None:
    settle(local_stack, outbox)
    clinician = f"outage-{uuid.uuid4().hex[:8]}"
    alice = Api(local_stack, clinician, "Dr Alice Martin")
    local_faults({"target": "events", "fail_next": 1_000_000})  # EventBridge down for a while

    links: set[str] = set()
    made = _fifty_changes(alice, links)
    assert outbox.events_of(clinician) == []  # nothing published during the outage

    assert local_faults({"reset": True}) == {}  # EventBridge is back
    local_clock.advance(SWEEP_AFTER_SECONDS + 20)
    swept = run_schedules(local_stack)
    assert swept["sweep_outbox"]["dispatched"] >= 1, swept  # what the stream gave up on

    published = outbox.events_of(clinician, count=50)
    settle(local_stack, outbox)  # anything still in the stream is handed over (and finds it done)
    published = outbox.events_of(clinician)
    ids = [e["detail"]["event_id"] for e in published]
    assert len(ids) == len(set(ids)), "an event was published twice"
    assert Counter((e["detail_type"], e["detail"]["invitation_id"]) for e in published) == made
    assert len(published) == 50
    # And the messages of the outage went out once each, on their current link only.
    box = outbox.read()
    sent = Counter(m["link"] for m in box["emails"] + box["sms"] if m["link"] in links)
    assert sent and all(count == 1 for count in sent.values()), sorted(sent.values())
