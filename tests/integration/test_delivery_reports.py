"""The delivery-report function with real-shaped provider events (events/): SES's EventBridge
event and SNS's delivery-status log records, through a CloudWatch Logs subscription."""

import base64
import copy
import gzip
import json

from tests.support import EVENTS, FakeContext, call, handler_of


def _ses_event(message_id: str, kind: str = "Bounce", event_id: str = "e-1") -> dict:
    event = json.loads((EVENTS / "delivery_reports.json").read_text())
    event["id"] = event_id
    event["detail"]["mail"]["messageId"] = message_id
    if kind == "Delivery":
        event["detail-type"], event["detail"]["eventType"] = "Email Delivered", "Delivery"
        del event["detail"]["bounce"]
        event["detail"]["delivery"] = {"timestamp": "2026-01-05T09:00:02.000Z", "recipients": ["x"]}
    return event


def _sms_event(message_id: str, success: bool) -> dict:
    event = json.loads((EVENTS / "delivery_reports_sms.json").read_text())
    data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    record = json.loads(data["logEvents"][0]["message"])
    record["notification"]["messageId"] = message_id
    record["status"] = "SUCCESS" if success else "FAILURE"
    data["logEvents"][0]["message"] = json.dumps(record)
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}}


def _message_id(invitation_id: str) -> str:
    import boto3

    item = boto3.client("dynamodb").get_item(
        TableName="invitations-test", Key={"pk": {"S": f"INV#{invitation_id}"}, "sk": {"S": "INV"}}
    )["Item"]
    return str(item["delivery"]["M"]["message_id"]["S"])


def _report(event: dict) -> dict:
    return handler_of("delivery_reports")(copy.deepcopy(event), FakeContext())


def test_a_bounce_without_a_phone_is_bounced_listed_and_asks_for_a_correction(stack):
    inv = call(
        "POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "bounce@simulator.amazonses.com"}
    ).json
    message_id = _message_id(inv["id"])
    assert _report(_ses_event(message_id)) == {"reports": 1, "recorded": 1}
    assert _report(_ses_event(message_id)) == {"reports": 1, "recorded": 0}  # the same event again
    got = call("GET", f"/invitations/{inv['id']}").json
    assert got["delivery"]["status"] == "bounced" and got["delivery"]["channel"] == "email"
    assert "permanent bounce" in got["delivery"]["detail"] and "@" not in got["delivery"]["detail"]
    resend = call("POST", f"/invitations/{inv['id']}/resend")
    assert resend.status == 409 and resend.json["error"]["code"] == "address_undeliverable"
    [failed] = stack.events("InvitationDeliveryFailed")
    assert failed["detail"]["delivery_status"] == "bounced" and failed["detail"]["fallback_sms"] is False


def test_a_bounce_with_a_phone_sends_one_sms_with_a_working_link(stack, clock):
    body = {"first_name": "A", "last_name": "B", "email": "bounce@simulator.amazonses.com", "phone": "+33612345678"}
    inv = call("POST", "/invitations", body).json
    clock.advance(seconds=10)  # the report (09:00:03) comes a moment after the send (09:00:00)
    _report(_ses_event(_message_id(inv["id"])))
    [sms] = stack.sms()
    assert inv["link"] in sms["text"]
    got = call("GET", f"/invitations/{inv['id']}").json
    assert got["delivery"]["channel"] == "sms" and got["link"] == inv["link"]
    history = [h["type"] for h in call("GET", f"/invitations/{inv['id']}/history").json["items"]]
    assert history == ["sent", "dispatched", "bounced", "fallback_sms", "dispatched"]


def test_a_late_delivery_never_hides_a_bounce(stack):
    inv = call("POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "c@example.org"}).json
    message_id = _message_id(inv["id"])
    _report(_ses_event(message_id, "Bounce", "e-1"))
    _report(_ses_event(message_id, "Delivery", "e-2"))
    assert call("GET", f"/invitations/{inv['id']}").json["delivery"]["status"] == "bounced"


def test_sms_reports_from_the_delivery_status_logs(stack):
    failed = call("POST", "/invitations", {"first_name": "A", "last_name": "B", "phone": "+33755512502"}).json
    delivered = call("POST", "/invitations", {"first_name": "C", "last_name": "D", "phone": "+33755512501"}).json
    assert _report(_sms_event(_message_id(failed["id"]), success=False))["recorded"] == 1
    assert _report(_sms_event(_message_id(delivered["id"]), success=True))["recorded"] == 1
    assert call("GET", f"/invitations/{failed['id']}").json["delivery"]["status"] == "failed"
    assert call("GET", f"/invitations/{delivered['id']}").json["delivery"]["status"] == "delivered"


def test_the_sample_events_are_handled(stack):
    assert _report(json.loads((EVENTS / "delivery_reports.json").read_text())) == {"reports": 1, "recorded": 0}
    assert _report(json.loads((EVENTS / "delivery_reports_sms.json").read_text())) == {"reports": 1, "recorded": 0}


def test_the_bounced_ones_are_listed_by_delivery_and_it_combines_with_status(stack, clock):
    bounced = call("POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "b1@example.org"}).json
    clock.advance(minutes=1)
    fine = call("POST", "/invitations", {"first_name": "C", "last_name": "D", "email": "c1@example.org"}).json
    _report(_ses_event(_message_id(bounced["id"])))

    def ids(**query):
        return [i["id"] for i in call("GET", "/invitations", query=query).json["items"]]

    assert ids(delivery="bounced") == [bounced["id"]]
    assert ids(delivery="sent") == [fine["id"]]
    assert ids(delivery="bounced", status="pending") == [bounced["id"]]
    assert ids(delivery="bounced", status="accepted") == []
    assert ids(delivery="bounced", q="a") == [bounced["id"]] and ids(delivery="bounced", q="c") == []
    clock.advance(days=15)
    assert ids(delivery="bounced", status="expired") == [bounced["id"]]
    answer = call("GET", "/invitations", query={"delivery": "lost"})
    assert answer.status == 422 and "delivery" in answer.json["error"]["fields"]


def test_a_delivery_listing_is_paged_with_its_own_cursors(stack, clock):
    created = []
    for n in range(3):
        created.append(
            call("POST", "/invitations", {"first_name": "P", "last_name": f"N{n}", "email": f"p{n}@example.org"}).json
        )
        clock.advance(minutes=1)
    first = call("GET", "/invitations", query={"delivery": "sent", "limit": 2}).json
    rest = call("GET", "/invitations", query={"delivery": "sent", "limit": 2, "cursor": first["next_cursor"]}).json
    assert [i["id"] for i in first["items"] + rest["items"]] == [c["id"] for c in reversed(created)]
    other = call("GET", "/invitations", query={"limit": 2, "cursor": first["next_cursor"]})
    assert other.status == 422  # a cursor only continues its own listing
