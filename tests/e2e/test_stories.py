"""The seed's stories, played over real HTTP against the local stack (`make dev`)."""

from datetime import datetime, timedelta

import pytest
import requests

from tests.e2e.conftest import Api, Clock, Outbox, Stack, eventually, open_link, run_expiry, settle, unique_email

pytestmark = pytest.mark.e2e

FOURTEEN_DAYS_AND_A_SECOND = 14 * 86400 + 1


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _error_code(answer: requests.Response) -> str:
    body = answer.json()
    assert set(body["error"]) >= {"code", "message"}, body
    return str(body["error"]["code"])


def test_send_by_email_then_accept_through_the_link(alice: Api, outbox: Outbox) -> None:
    email = unique_email()
    sent = alice("POST", "/invitations", {"first_name": "Hélène", "last_name": "Dupont-Durand", "email": email})
    assert sent.status_code == 201, sent.text
    invitation = sent.json()
    assert sent.headers["Location"] == f"/invitations/{invitation['id']}"
    assert (invitation["channel"], invitation["status"], invitation["send_count"]) == ("email", "pending", 1)
    assert invitation["delivery"]["status"] == "queued"  # the message goes out through the outbox
    assert _at(invitation["expires_at"]) - _at(invitation["sent_at"]) == timedelta(days=14)

    [mail] = outbox.messages_with(invitation["link"])
    assert mail["to"] == email
    assert "Dr Alice Martin" in mail["subject"]
    assert invitation["link"] in mail["text"] and invitation["link"] in mail["html"]
    assert len(outbox.events("InvitationSent", invitation["id"])) == 1
    delivered = eventually(
        lambda: alice("GET", f"/invitations/{invitation['id']}").json()["delivery"]["status"],
        lambda status: status == "delivered",  # sent, then the provider (simulator) reports it delivered
    )
    assert delivered == "delivered"

    view = open_link(invitation["link"])
    assert view.status_code == 200, view.text
    assert view.json() == {
        "status": "pending",
        "clinician_name": "Dr Alice Martin",
        "expires_at": invitation["expires_at"],
    }
    page = open_link(invitation["link"], json_view=False)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Dr Alice Martin" in page.text and email not in page.text and "Dupont" not in page.text

    accepted = open_link(invitation["link"] + "/accept", method="POST")
    assert accepted.status_code == 200, accepted.text
    patient_id = accepted.json()["patient_id"]
    assert accepted.json() == {"status": "accepted", "patient_id": patient_id}
    again = open_link(invitation["link"] + "/accept", method="POST")
    assert again.status_code == 200 and again.json() == accepted.json()

    now = alice("GET", f"/invitations/{invitation['id']}").json()
    assert (now["status"], now["link"], now["patient_id"]) == ("accepted", None, patient_id)
    patient = alice("GET", f"/patients/{patient_id}").json()
    assert (patient["first_name"], patient["last_name"], patient["email"]) == ("Hélène", "Dupont-Durand", email)
    assert (patient["invitation_id"], patient["thread"]) == (invitation["id"], "active")
    [event] = outbox.events("InvitationAccepted", invitation["id"])
    assert event["detail"]["patient_id"] == patient_id


def test_send_by_sms_to_a_french_national_number(alice: Api, outbox: Outbox) -> None:
    invitation = alice.invite(first_name="Jean", last_name="Moreau", phone="06 12 34 56 78")
    assert (invitation["channel"], invitation["phone"], invitation["email"]) == ("sms", "+33612345678", None)
    [sms] = outbox.messages_with(invitation["link"])
    assert sms["to"] == "+33612345678"
    assert len(sms["text"]) <= 160 and invitation["link"] in sms["text"]
    assert open_link(invitation["link"]).status_code == 200


def test_find_by_name_ignoring_case_and_accents(alice: Api) -> None:
    helene = alice.invite(first_name="Hélène", last_name="DUPONT-Durand", email=unique_email())
    marc = alice.invite(first_name="Marc", last_name="Hélary", email=unique_email())
    other = alice.invite(first_name="Zoé", last_name="Bernard", email=unique_email())

    def found(q: str) -> list[str]:
        answer = alice("GET", "/invitations", params={"q": q})
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert found("hel") == [marc["id"], helene["id"]]  # newest sent first
    assert found("HÉL") == [marc["id"], helene["id"]]
    assert found("dupont") == [helene["id"]]
    assert found("durand") == [helene["id"]]
    assert found("zoe") == [other["id"]]
    assert found("upont") == []  # the start of a word, not any part of it
    listed = alice("GET", "/invitations", params={"limit": 2}).json()
    assert [i["id"] for i in listed["items"]] == [other["id"], marc["id"]] and listed["next_cursor"]
    rest = alice("GET", "/invitations", params={"limit": 2, "cursor": listed["next_cursor"]}).json()
    assert [i["id"] for i in rest["items"]] == [helene["id"]] and rest["next_cursor"] is None


def test_resend_gives_a_new_link_and_kills_the_old_one(alice: Api, outbox: Outbox) -> None:
    first = alice.invite(email=unique_email())
    resent = alice("POST", f"/invitations/{first['id']}/resend")
    assert resent.status_code == 200, resent.text
    second = resent.json()
    assert second["link"] != first["link"] and second["send_count"] == 2
    assert open_link(first["link"]).status_code == 404
    assert _error_code(open_link(first["link"])) == "link_not_valid"
    assert open_link(second["link"]).status_code == 200
    assert len(outbox.messages_with(second["link"])) == 1
    assert [e["detail"]["send_count"] for e in outbox.events("InvitationSent", first["id"], count=2)] == [1, 2]


def test_correct_then_resend(alice: Api, outbox: Outbox) -> None:
    invitation = alice.invite(email=unique_email())
    renamed = alice("PATCH", f"/invitations/{invitation['id']}", {"first_name": "Hélèna"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["first_name"] == "Hélèna"
    assert open_link(invitation["link"]).status_code == 200  # a name is not a contact detail

    new_email = unique_email()
    corrected = alice("PATCH", f"/invitations/{invitation['id']}", {"email": new_email})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["email"] == new_email
    assert open_link(invitation["link"]).status_code == 404  # killed at once
    assert len(outbox.events("InvitationCorrected", invitation["id"], count=2)) == 2  # the stream got that far
    assert outbox.emails_to(new_email, count=0) == []  # nothing is sent until a resend

    resent = alice("POST", f"/invitations/{invitation['id']}/resend").json()
    [mail] = outbox.emails_to(new_email)
    assert mail["link"] == resent["link"] and "Hélèna" in mail["text"]
    assert open_link(resent["link"]).status_code == 200


def test_delete_kills_the_link_and_hides_the_invitation(alice: Api, outbox: Outbox) -> None:
    invitation = alice.invite(email=unique_email())
    deleted = alice("DELETE", f"/invitations/{invitation['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert alice("GET", f"/invitations/{invitation['id']}").status_code == 404
    assert alice("GET", "/invitations").json()["items"] == []
    assert alice("GET", "/invitations", params={"q": "hel"}).json()["items"] == []
    page = open_link(invitation["link"], json_view=False)
    assert page.status_code == 404 and "plus valide" in page.text
    assert open_link(invitation["link"] + "/accept", method="POST").status_code == 404
    assert len(outbox.events("InvitationDeleted", invitation["id"])) == 1
    assert alice("DELETE", f"/invitations/{invitation['id']}").status_code == 404


def test_an_accepted_invitation_belongs_to_the_patient_record(alice: Api) -> None:
    invitation = alice.invite(email=unique_email())
    assert open_link(invitation["link"] + "/accept", method="POST").status_code == 200
    for method, path, body in [
        ("PATCH", "", {"first_name": "Autre"}),
        ("POST", "/resend", None),
        ("DELETE", "", None),
    ]:
        answer = alice(method, f"/invitations/{invitation['id']}{path}", body)
        assert answer.status_code == 409, (method, path, answer.text)
        assert _error_code(answer) == "invitation_accepted"


def test_expiry_before_and_after_the_scheduled_run(
    alice: Api, outbox: Outbox, local_clock: Clock, local_stack: Stack
) -> None:
    invitation = alice.invite(email=unique_email())
    now = _at(local_clock.advance(FOURTEEN_DAYS_AND_A_SECOND))
    assert now > _at(invitation["expires_at"])

    # Before any run: it already reads expired, and its link answers 410.
    read = alice("GET", f"/invitations/{invitation['id']}").json()
    assert (read["status"], read["link"]) == ("expired", None)
    assert [i["id"] for i in alice("GET", "/invitations", params={"status": "expired"}).json()["items"]] == [
        invitation["id"]
    ]
    assert alice("GET", "/invitations", params={"status": "pending"}).json()["items"] == []
    assert open_link(invitation["link"]).status_code == 410
    assert _error_code(open_link(invitation["link"])) == "link_expired"
    assert outbox.events("InvitationExpired", invitation["id"], count=0) == []

    # The scheduled run flips it, once.
    assert run_expiry(local_stack)["complete"] is True
    [event] = outbox.events("InvitationExpired", invitation["id"])
    assert event["detail"]["expires_at"] == invitation["expires_at"]
    run_expiry(local_stack)
    settle(local_stack, outbox)
    assert len(outbox.events("InvitationExpired", invitation["id"])) == 1
    assert alice("GET", f"/invitations/{invitation['id']}").json()["status"] == "expired"

    # An expired invitation can be resent: a new link, valid 14 days from (the test clock's) now.
    resent = alice("POST", f"/invitations/{invitation['id']}/resend")
    assert resent.status_code == 200, resent.text
    again = resent.json()
    assert again["status"] == "pending" and again["link"] != invitation["link"]
    assert _at(again["expires_at"]) - now >= timedelta(days=14)
    assert open_link(again["link"]).status_code == 200
    assert open_link(invitation["link"]).status_code == 404
    assert len(outbox.messages_with(again["link"])) == 1


def test_leave_the_patient_thread(alice: Api, outbox: Outbox, local_stack: Stack) -> None:
    invitation = alice.invite(email=unique_email())
    patient_id = open_link(invitation["link"] + "/accept", method="POST").json()["patient_id"]
    corrected = alice("PATCH", f"/patients/{patient_id}", {"phone": "+33 6 98 76 54 32"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["phone"] == "+33698765432"

    left = alice("POST", f"/patients/{patient_id}/leave")
    assert left.status_code == 200, left.text
    assert left.json()["thread"] == "left"
    again = alice("POST", f"/patients/{patient_id}/leave")
    assert again.status_code == 200 and again.json() == left.json()
    settle(local_stack, outbox)
    events = [e for e in outbox.events("PatientThreadLeft", invitation["id"])]
    assert [e["detail"]["patient_id"] for e in events] == [patient_id]


def test_another_clinician_sees_nothing(alice: Api, bob: Api) -> None:
    pending = alice.invite(email=unique_email())
    accepted = alice.invite(email=unique_email())
    patient_id = open_link(accepted["link"] + "/accept", method="POST").json()["patient_id"]
    probes = [
        ("GET", f"/invitations/{pending['id']}", None),
        ("PATCH", f"/invitations/{pending['id']}", {"first_name": "Intrus"}),
        ("POST", f"/invitations/{pending['id']}/resend", None),
        ("DELETE", f"/invitations/{pending['id']}", None),
        ("GET", f"/patients/{patient_id}", None),
        ("PATCH", f"/patients/{patient_id}", {"first_name": "Intrus"}),
        ("POST", f"/patients/{patient_id}/leave", None),
        ("GET", "/invitations/0123456789abcdef0123456789abcdef", None),
    ]
    for method, path, body in probes:
        answer = bob(method, path, body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert _error_code(answer) == "not_found"
    assert bob("GET", "/invitations").json()["items"] == []
    assert bob("GET", "/invitations", params={"q": "hel"}).json()["items"] == []
    # And nothing changed for Alice.
    assert alice("GET", f"/invitations/{pending['id']}").json()["first_name"] == "Hélène"
    assert alice("GET", f"/patients/{patient_id}").json()["thread"] == "active"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-jwt", "Bearer expired", "Bearer wrong-audience", "Bearer wrong-issuer", "Bearer foreign-key"],
)
def test_401_without_a_valid_token(local_stack: Stack, authorization: str | None) -> None:
    from local import auth

    tokens = {
        "Bearer expired": local_stack.token("c1", "Dr A", exp=1),
        "Bearer wrong-audience": local_stack.token("c1", "Dr A", aud="someone-else"),
        "Bearer wrong-issuer": local_stack.token("c1", "Dr A", iss="https://evil.example.org"),
        "Bearer foreign-key": auth.mint(local_stack.data_dir / "another-key", "c1", "Dr A"),
    }
    header = f"Bearer {tokens[authorization]}" if authorization in tokens else authorization
    for method, path in [("GET", "/invitations"), ("POST", "/invitations"), ("GET", "/patients/p1")]:
        answer = requests.request(
            method, local_stack.url + path, headers={"Authorization": header} if header else {}, timeout=10
        )
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.json() == {"message": "Unauthorized"}


def test_the_patient_routes_need_no_token(local_stack: Stack) -> None:
    answer = requests.get(f"{local_stack.url}/i/not-a-token", headers={"Accept": "application/json"}, timeout=10)
    assert answer.status_code == 404 and _error_code(answer) == "link_not_valid"


def test_idempotency_key_sends_once(alice: Api, outbox: Outbox) -> None:
    body = {"first_name": "Hélène", "last_name": "Dupont", "email": unique_email()}
    first = alice("POST", "/invitations", body, headers={"Idempotency-Key": "k-1"})
    second = alice("POST", "/invitations", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201, second.text
    assert first.json()["id"] == second.json()["id"]
    settle(alice.stack, outbox)
    assert len(outbox.emails_to(body["email"])) == 1


def test_bad_input_answers_in_the_contract_format(alice: Api) -> None:
    invalid = alice("POST", "/invitations", {"first_name": "A", "last_name": "B", "phone": "12"})
    assert invalid.status_code == 422 and _error_code(invalid) == "validation_error"
    assert "phone" in invalid.json()["error"]["fields"]
    malformed = alice.session.post(
        f"{alice.stack.url}/invitations", data="{not json", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert malformed.status_code == 400 and _error_code(malformed) == "malformed_json"
    assert requests.get(f"{alice.stack.url}/nowhere", timeout=10).status_code == 404


def test_outbox_page_has_clickable_links(alice: Api, local_stack: Stack, outbox: Outbox) -> None:
    invitation = alice.invite(email=unique_email())
    assert outbox.messages_with(invitation["link"])
    page = requests.get(f"{local_stack.url}/_local/outbox", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert f'<a href="{invitation["link"]}">' in page.text
