"""GET /i/{token} and POST /i/{token}/accept, public: pages and JSON."""

import boto3

from tests.support import call, token_of

HELENE = {"first_name": "Hélène", "last_name": "Dupont", "email": "helene.link@example.org", "phone": "0611223344"}


def sent(**extra):
    answer = call("POST", "/invitations", {**HELENE, **extra})
    assert answer.status == 201, answer.text
    return answer.json


def test_the_page_names_the_clinician_and_the_date_and_never_the_patients_details(stack):
    inv = sent()
    page = call("GET", f"/i/{token_of(inv['link'])}", headers={"accept": "text/html"})
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Dr Alice Martin vous invite" in page.text and "19/01/2026" in page.text
    assert '<form method="post"' in page.text and "<script" not in page.text
    for private in ("Hélène", "Dupont", "helene.link", "0611223344", "+33611223344"):
        assert private not in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_the_page_speaks_the_invitations_locale(stack):
    inv = sent(locale="en")
    page = call("GET", f"/i/{token_of(inv['link'])}", headers={"accept": "text/html"})
    assert "Dr Alice Martin invites you" in page.text and '<html lang="en">' in page.text


def test_json_view_and_opening_never_consumes_the_link(stack):
    inv = sent()
    token = token_of(inv["link"])
    for _ in range(3):  # mail scanners open links
        view = call("GET", f"/i/{token}")
        assert view.status == 200
        assert view.json == {"status": "pending", "clinician_name": "Dr Alice Martin", "expires_at": inv["expires_at"]}
    assert call("GET", f"/invitations/{inv['id']}").json["status"] == "pending"


def test_accept_creates_the_patient_and_is_idempotent(stack, clock):
    inv = sent()
    token = token_of(inv["link"])
    first = call("POST", f"/i/{token}/accept")
    assert first.status == 200 and first.json["status"] == "accepted"
    clock.advance(days=30)  # even past the expiry, the same link answers the same
    again = call("POST", f"/i/{token}/accept")
    assert again.status == 200 and again.json == first.json
    got = call("GET", f"/invitations/{inv['id']}").json
    assert got["status"] == "accepted" and got["patient_id"] == first.json["patient_id"] and got["link"] is None
    patient = call("GET", f"/patients/{first.json['patient_id']}").json
    assert (patient["first_name"], patient["email"], patient["phone"]) == (
        "Hélène",
        "helene.link@example.org",
        "+33611223344",
    )
    assert patient["thread"] == "active" and patient["invitation_id"] == inv["id"]
    [event] = stack.events("InvitationAccepted")
    assert event["detail"]["patient_id"] == first.json["patient_id"]
    assert call("GET", f"/i/{token}", headers={"accept": "text/html"}).status == 200


def test_accept_from_the_pages_form_answers_a_confirmation_page(stack):
    inv = sent()
    answer = call(
        "POST",
        f"/i/{token_of(inv['link'])}/accept",
        raw_body="",
        headers={"accept": "text/html", "content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 200 and "Invitation acceptée" in answer.text


def test_expired_link_is_410_asking_to_resend(stack, clock):
    inv = sent()
    token = token_of(inv["link"])
    clock.advance(days=14)
    page = call("GET", f"/i/{token}", headers={"accept": "text/html"})
    assert page.status == 410 and "Demandez à Dr Alice Martin de vous la renvoyer" in page.text
    assert call("GET", f"/i/{token}").json["error"]["code"] == "link_expired"
    assert call("POST", f"/i/{token}/accept").status == 410
    assert stack.events("InvitationAccepted") == []


def test_unknown_or_forged_links_are_404_pages(stack):
    inv = sent()
    token = token_of(inv["link"])
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for bad in [forged, "nothing", "A" * 48, "%E2%82%AC"]:
        page = call("GET", f"/i/{bad}", headers={"accept": "text/html"})
        assert page.status == 404 and "plus valide" in page.text
        assert call("POST", f"/i/{bad}/accept").json["error"]["code"] == "link_not_valid"


def test_the_table_holds_no_token(stack):
    inv = sent()
    dump = str(boto3.client("dynamodb").scan(TableName="invitations-test")["Items"])
    assert token_of(inv["link"]) not in dump


def test_accept_answers_json_to_an_api_client_and_html_to_a_browser(stack):
    token = token_of(sent()["link"])
    api = call("POST", f"/i/{token}/accept", headers={"accept": "*/*"})
    assert api.headers["Content-Type"] == "application/json" and api.json["status"] == "accepted"
    browser = call("POST", f"/i/{token}/accept", headers={"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert browser.headers["Content-Type"].startswith("text/html") and "Invitation acceptée" in browser.text


def test_the_help_page_in_both_languages_linked_from_every_patient_page(stack, clock):
    for lang, words in (("fr", "Accepter une invitation"), ("en", "Accepting an invitation")):
        page = call("GET", "/help", query={"lang": lang}, headers={"accept": "text/html"})
        assert page.status == 200 and words in page.text and "14" in page.text
        assert page.headers["Content-Type"].startswith("text/html")
    inv = call(
        "POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "a@example.org", "locale": "en"}
    ).json
    assert inv["help_link"] == "https://invite.example.org/help?lang=en"
    token = token_of(inv["link"])
    page = call("GET", f"/i/{token}", headers={"accept": "text/html"})
    assert 'href="https://invite.example.org/help?lang=en"' in page.text
    clock.advance(days=15)
    expired = call("GET", f"/i/{token}", headers={"accept": "text/html"})
    assert expired.status == 410 and "/help?lang=en" in expired.text


def test_dates_are_shown_in_the_invitations_time_zone(stack):
    body = {"first_name": "A", "last_name": "B", "email": "tz@example.org", "time_zone": "America/Martinique"}
    inv = call("POST", "/invitations", body).json
    assert inv["time_zone"] == "America/Martinique"
    # Sent 2026-01-05 09:00 UTC, valid until 2026-01-19 09:00 UTC = 05:00 in Martinique (UTC-4).
    page = call("GET", f"/i/{token_of(inv['link'])}", headers={"accept": "text/html"})
    assert "19/01/2026 à 05:00 (AST)" in page.text and "UTC" not in page.text
    paris = call("POST", "/invitations", {"first_name": "C", "last_name": "D", "email": "p@example.org"}).json
    assert paris["time_zone"] == "Europe/Paris"
    page = call("GET", f"/i/{token_of(paris['link'])}", headers={"accept": "text/html"})
    assert "19/01/2026 à 10:00 (CET)" in page.text
    [mail, _] = [m for m in stack.emails() if m["to"] in ("tz@example.org", "p@example.org")]
    assert "19/01/2026" in mail["body"]
    bad = call("POST", "/invitations", {**body, "time_zone": "Mars/Olympus"})
    assert bad.status == 422 and "time_zone" in bad.json["error"]["fields"]
