"""Correct, resend, delete; the patient record; leaving the thread (issue 3), through the handlers."""

import pytest

from tests.support import BOB, call, links_in, token_of

JEANNE = {"first_name": "Jeanne", "last_name": "Rivière", "email": "jeanne.r@example.org"}


def sent(body=JEANNE):
    """The invitation as read once its message is out (the stream has been drained)."""
    answer = call("POST", "/invitations", body)
    assert answer.status == 201, answer.text
    return call("GET", f"/invitations/{answer.json['id']}").json


def accepted():
    inv = sent()
    patient_id = call("POST", f"/i/{token_of(inv['link'])}/accept").json["patient_id"]
    return inv, patient_id


def test_correcting_a_name_keeps_the_link(stack):
    inv = sent()
    fixed = call("PATCH", f"/invitations/{inv['id']}", {"last_name": "Rivierre"})
    assert fixed.status == 200 and fixed.json["last_name"] == "Rivierre" and fixed.json["link"] == inv["link"]
    search = call("GET", "/invitations", query={"q": "rivierre"}).json["items"]
    assert [i["id"] for i in search] == [inv["id"]]
    assert call("GET", "/invitations", query={"q": "riviere"}).json["items"] == []


def test_correcting_the_email_kills_the_old_link_at_once_and_sends_nothing(stack):
    inv = sent()
    fixed = call("PATCH", f"/invitations/{inv['id']}", {"email": "jeanne.new@example.org"}).json
    assert fixed["link"] != inv["link"] and fixed["delivery"]["status"] == "not_sent"
    assert call("GET", f"/i/{token_of(inv['link'])}").status == 404
    assert call("POST", f"/i/{token_of(inv['link'])}/accept").status == 404
    assert len(stack.emails()) == 1
    resent = call("POST", f"/invitations/{inv['id']}/resend").json
    assert stack.emails()[-1]["to"] == "jeanne.new@example.org"
    assert links_in(stack.emails()[-1]["body"])[0] == resent["link"]


def test_removing_the_email_moves_the_channel_to_sms(stack):
    inv = sent({**JEANNE, "phone": "+33698765432"})
    fixed = call("PATCH", f"/invitations/{inv['id']}", {"email": None}).json
    assert fixed["channel"] == "sms" and fixed["email"] is None
    call("POST", f"/invitations/{inv['id']}/resend")
    assert stack.sms()[-1]["to"] == "+33698765432"


@pytest.mark.parametrize(
    "patch",
    [{"email": None}, {"first_name": None}, {"first_name": ""}, {"phone": "123"}, {"email": "x"}, {"colour": "red"}],
)
def test_bad_corrections_are_422_and_change_nothing(stack, patch):
    inv = sent()
    answer = call("PATCH", f"/invitations/{inv['id']}", patch)
    assert answer.status == 422 and answer.json["error"]["code"] == "validation_error"
    assert call("GET", f"/invitations/{inv['id']}").json == inv


def test_once_accepted_corrections_resends_and_deletes_are_409(stack):
    inv, _ = accepted()
    for method, path, body in [
        ("PATCH", f"/invitations/{inv['id']}", {"first_name": "J"}),
        ("POST", f"/invitations/{inv['id']}/resend", None),
        ("DELETE", f"/invitations/{inv['id']}", None),
    ]:
        answer = call(method, path, body)
        assert answer.status == 409 and answer.json["error"]["code"] == "invitation_accepted"
        # What to do instead: edit the patient record, or (for a delete) leave the thread.
        expected = "leave the patient thread" if method == "DELETE" else "patient record"
        assert expected in answer.json["error"]["message"]


def test_resend_gives_a_new_link_and_14_more_days(stack, clock):
    inv = sent()
    clock.advance(days=3)
    again = call("POST", f"/invitations/{inv['id']}/resend").json
    assert again["link"] != inv["link"] and again["send_count"] == 2
    assert again["expires_at"] == "2026-01-22T09:00:00.000Z" and again["sent_at"] == "2026-01-08T09:00:00.000Z"
    assert call("GET", f"/i/{token_of(inv['link'])}").status == 404
    assert call("GET", f"/i/{token_of(again['link'])}").status == 200
    assert [e["detail"]["send_count"] for e in stack.events("InvitationSent")] == [1, 2]
    # Newest sent first: the resent one moves to the top.
    other = sent({"first_name": "Autre", "last_name": "Personne", "email": "autre@example.org"})
    clock.advance(minutes=1)
    call("POST", f"/invitations/{inv['id']}/resend")
    assert [i["id"] for i in call("GET", "/invitations").json["items"]] == [inv["id"], other["id"]]
    assert [i["id"] for i in call("GET", "/invitations", query={"q": "jea"}).json["items"]] == [inv["id"]]


def test_an_expired_invitation_can_be_resent(stack, clock):
    inv = sent()
    clock.advance(days=15)
    assert call("GET", f"/invitations/{inv['id']}").json["status"] == "expired"
    again = call("POST", f"/invitations/{inv['id']}/resend").json
    assert again["status"] == "pending"
    assert call("POST", f"/i/{token_of(again['link'])}/accept").status == 200


def test_the_sixth_send_in_a_day_is_429_with_retry_after(stack, clock):
    inv = sent()
    for _ in range(4):
        clock.advance(minutes=10)
        assert call("POST", f"/invitations/{inv['id']}/resend").status == 200
    refused = call("POST", f"/invitations/{inv['id']}/resend")
    assert refused.status == 429 and refused.json["error"]["code"] == "too_many_sends"
    assert int(refused.headers["Retry-After"]) == 24 * 3600 - 40 * 60 + 1
    assert len(stack.emails()) == 5
    clock.advance(seconds=int(refused.headers["Retry-After"]))
    assert call("POST", f"/invitations/{inv['id']}/resend").status == 200


def test_delete_kills_the_link_for_ever_and_hides_the_invitation(stack, clock):
    inv = sent()
    assert call("DELETE", f"/invitations/{inv['id']}").status == 204
    assert call("GET", f"/invitations/{inv['id']}").status == 404
    assert call("GET", "/invitations").json["items"] == []
    assert call("GET", "/invitations", query={"q": "jeanne"}).json["items"] == []
    assert call("GET", "/invitations", query={"status": "pending"}).json["items"] == []
    assert call("GET", f"/i/{token_of(inv['link'])}", headers={"accept": "text/html"}).status == 404
    assert call("POST", f"/i/{token_of(inv['link'])}/accept").status == 404
    assert call("POST", f"/invitations/{inv['id']}/resend").status == 404
    assert call("DELETE", f"/invitations/{inv['id']}").status == 404
    [event] = stack.events("InvitationDeleted")
    assert event["detail"]["invitation_id"] == inv["id"]
    clock.advance(days=15)
    from invitations import runtime
    from invitations.use_cases import expiry

    assert expiry.expire_overdue(runtime.services(), lambda: True).expired == 0  # gone from the expiry index too


def test_an_expired_invitation_can_be_deleted(stack, clock):
    inv = sent()
    clock.advance(days=20)
    assert call("DELETE", f"/invitations/{inv['id']}").status == 204


def test_patient_record_get_and_correct(stack):
    _, patient_id = accepted()
    fixed = call("PATCH", f"/patients/{patient_id}", {"phone": "07 56 12 34 56", "last_name": "Rivière-Blanc"})
    assert fixed.status == 200 and fixed.json["phone"] == "+33756123456" and fixed.json["last_name"] == "Rivière-Blanc"
    assert call("GET", f"/patients/{patient_id}").json == fixed.json
    bad = call("PATCH", f"/patients/{patient_id}", {"email": "nope"})
    assert bad.status == 422 and "email" in bad.json["error"]["fields"]
    assert call("PATCH", f"/patients/{patient_id}", {"email": None}).status == 200  # the phone remains
    assert call("PATCH", f"/patients/{patient_id}", {"phone": None}).status == 422  # not both


def test_leaving_the_thread_once_publishes_once(stack):
    _, patient_id = accepted()
    first = call("POST", f"/patients/{patient_id}/leave")
    assert first.status == 200 and first.json["thread"] == "left"
    again = call("POST", f"/patients/{patient_id}/leave")
    assert again.status == 200 and again.json == first.json
    assert len(stack.events("PatientThreadLeft")) == 1


def test_another_clinician_reaches_nothing(stack):
    _, patient_id = accepted()
    pending = sent()
    for method, path, body in [
        ("GET", f"/invitations/{pending['id']}", None),
        ("PATCH", f"/invitations/{pending['id']}", {"first_name": "X"}),
        ("POST", f"/invitations/{pending['id']}/resend", None),
        ("DELETE", f"/invitations/{pending['id']}", None),
        ("GET", f"/patients/{patient_id}", None),
        ("PATCH", f"/patients/{patient_id}", {"first_name": "X"}),
        ("POST", f"/patients/{patient_id}/leave", None),
    ]:
        answer = call(method, path, body, as_=BOB)
        assert answer.status == 404 and answer.json["error"]["code"] == "not_found", (method, path)
    assert call("GET", f"/invitations/{pending['id']}").json == pending
    assert call("GET", f"/patients/{patient_id}").json["thread"] == "active"
    assert stack.events("PatientThreadLeft") == [] and stack.events("InvitationDeleted") == []
