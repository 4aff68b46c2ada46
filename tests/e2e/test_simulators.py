"""The providers' simulators locally, through `make dev` (local/simulators.py): an email to SES's
mailbox simulator or an SMS to a simulator number is reported on as AWS would report it (SES's
events through the template's EventBridge rule, SNS's delivery-status logs through its log
subscriptions), and the invitation, its history and the outbox show it within seconds."""

from typing import Any

import pytest
import requests

from tests.e2e.conftest import Api, Outbox, Stack, eventually, open_link, simulator, unique_email, unique_phone

pytestmark = pytest.mark.e2e

REPORT_SECONDS = 20.0  # the dispatch, then the report (under a second after the send), on a busy machine
FAILING_NUMBER = "+33755512502"
DELIVERED_NUMBER = "+33755512501"


def delivery_of(api: Api, invitation: dict[str, Any], status: str) -> dict[str, Any]:
    """The invitation's delivery once it is `status` (or as it is when the time is up)."""
    return dict(
        eventually(
            lambda: api("GET", f"/invitations/{invitation['id']}").json()["delivery"],
            lambda delivery: delivery["status"] == status,
            timeout=REPORT_SECONDS,
        )
    )


def history_of(api: Api, invitation: dict[str, Any]) -> list[tuple[str, str]]:
    items = api("GET", f"/invitations/{invitation['id']}/history").json()["items"]
    return [(item["type"], item.get("channel")) for item in items]


def outbox_delivery(outbox: Outbox, link: str, channel: str, status: str) -> dict[str, Any]:
    """What the outbox shows of the message on `channel` that carried `link`, once `status`."""

    def read() -> dict[str, Any]:
        box = outbox.read()
        found = [m for m in box["emails" if channel == "email" else "sms"] if m["link"] == link]
        return dict(found[-1]["delivery"] or {}) if found else {}

    shown: dict[str, Any] = eventually(read, lambda found: found.get("status") == status, timeout=REPORT_SECONDS)
    return shown


def test_a_bounce_without_a_phone_is_bounced(alice: Api, outbox: Outbox) -> None:
    invitation = alice.invite(email=simulator("bounce"))

    delivery = delivery_of(alice, invitation, "bounced")
    assert delivery["status"] == "bounced", delivery
    assert (delivery["channel"], delivery["detail"]) == ("email", "permanent bounce: General")
    assert history_of(alice, invitation)[-1] == ("bounced", "email")
    assert [e["detail"]["delivery_status"] for e in outbox.events("InvitationDeliveryFailed", invitation["id"])] == [
        "bounced"
    ]
    shown = outbox_delivery(outbox, invitation["link"], "email", "bounced")
    assert [r["report"] for r in shown["reports"]] == ["Email Bounced"]
    assert len(outbox.messages_with(invitation["link"])) == 1  # no phone: nothing else goes out
    listed = alice("GET", "/invitations?delivery=bounced")
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [invitation["id"]]
    assert alice("GET", "/invitations?delivery=sent").json()["items"] == []


def test_a_bounce_with_a_phone_sends_the_same_link_once_by_sms(alice: Api, outbox: Outbox) -> None:
    phone = unique_phone()
    invitation = alice.invite(email=simulator("bounce"), phone=phone)
    assert invitation["channel"] == "email"

    delivery = delivery_of(alice, invitation, "delivered")  # the fallback SMS, delivered
    assert (delivery["status"], delivery["channel"]) == ("delivered", "sms"), delivery
    mail, sms = outbox.messages_with(invitation["link"], count=2)
    assert mail["to"].endswith("@simulator.amazonses.com") and sms["to"] == phone
    assert open_link(sms["link"]).status_code == 200  # the link works
    history = history_of(alice, invitation)
    for step in (("bounced", "email"), ("fallback_sms", "sms"), ("delivered", "sms")):
        assert step in history, history
    assert outbox_delivery(outbox, invitation["link"], "sms", "delivered")["status"] == "delivered"
    assert len(outbox.messages_with(invitation["link"])) == 2  # once by SMS, never again


def test_a_complaint_is_complained_after_its_delivery(alice: Api, outbox: Outbox) -> None:
    invitation = alice.invite(email=simulator("complaint"))

    delivery = delivery_of(alice, invitation, "complained")
    assert (delivery["status"], delivery["channel"]) == ("complained", "email"), delivery
    history = history_of(alice, invitation)
    assert history.index(("delivered", "email")) < history.index(("complained", "email")), history
    shown = outbox_delivery(outbox, invitation["link"], "email", "complained")
    assert [r["report"] for r in shown["reports"]] == ["Email Delivered", "Email Complaint Received"]


def test_the_suppression_list_bounces(alice: Api) -> None:
    invitation = alice.invite(email=simulator("suppressionlist"))
    delivery = delivery_of(alice, invitation, "bounced")
    assert delivery["detail"] == "permanent bounce: OnAccountSuppressionList", delivery


def test_an_sms_to_the_failing_number_fails(alice: Api, outbox: Outbox) -> None:
    invitation = alice.invite(phone=FAILING_NUMBER)

    delivery = delivery_of(alice, invitation, "failed")
    assert (delivery["status"], delivery["channel"]) == ("failed", "sms"), delivery
    assert delivery["detail"] == "Phone is currently unreachable/unavailable"
    assert ("failed", "sms") in history_of(alice, invitation)
    shown = outbox_delivery(outbox, invitation["link"], "sms", "failed")
    assert [r["report"] for r in shown["reports"]] == ["SMS delivery status FAILURE"]


@pytest.mark.parametrize(
    "contact",
    [
        {"email": "success@simulator.amazonses.com"},
        {"email": "EXAMPLE"},  # any other address
        {"phone": DELIVERED_NUMBER},
        {"phone": "ANY"},  # any other number
    ],
)
def test_success_and_any_other_contact_are_delivered(alice: Api, outbox: Outbox, contact: dict[str, str]) -> None:
    if contact.get("email") == "EXAMPLE":
        contact = {"email": unique_email()}
    if contact.get("phone") == "ANY":
        contact = {"phone": unique_phone()}
    invitation = alice.invite(**contact)
    channel = "email" if "email" in contact else "sms"

    delivery = delivery_of(alice, invitation, "delivered")
    assert (delivery["status"], delivery["channel"]) == ("delivered", channel), delivery
    assert ("delivered", channel) in history_of(alice, invitation)
    [event] = outbox.events("InvitationDelivered", invitation["id"])
    assert event["detail"]["channel"] == channel
    assert outbox_delivery(outbox, invitation["link"], channel, "delivered")["status"] == "delivered"


def test_the_outbox_page_shows_each_message_s_delivery(alice: Api, outbox: Outbox, local_stack: Stack) -> None:
    invitation = alice.invite(email=simulator("bounce"))
    outbox_delivery(outbox, invitation["link"], "email", "bounced")
    page = requests.get(f"{local_stack.url}/_local/outbox", headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and 'class="delivery bounced"' in page.text
    assert "bounced (permanent bounce: General)" in page.text
