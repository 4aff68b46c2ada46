"""POST /invitations, GET /invitations(/{id}): through the handlers, against moto."""

import pytest

from tests.support import ALICE, BOB, call, links_in

HELENE = {"first_name": "Hélène", "last_name": "Dupont-Durand", "email": "helene.dd@example.org"}
MARC_SMS = {"first_name": "Marc", "last_name": "Lemoine", "phone": "06 12 34 56 78", "locale": "en"}


def send(body, **kwargs):
    answer = call("POST", "/invitations", body, **kwargs)
    assert answer.status == 201, answer.text
    return answer.json


def test_email_when_an_address_is_given_even_with_a_phone(stack):
    inv = send({**HELENE, "phone": "+33612345678"})
    assert inv["channel"] == "email" and inv["status"] == "pending"
    assert inv["delivery"]["status"] == "queued" and inv["send_count"] == 1  # no provider on the request's path
    assert call("GET", f"/invitations/{inv['id']}").json["delivery"]["status"] == "sent"  # once dispatched
    assert inv["expires_at"] == "2026-01-19T09:00:00.000Z"  # 14 days after sending
    assert inv["phone"] == "+33612345678" and inv["accepted_at"] is None and inv["patient_id"] is None
    [mail] = stack.emails()
    assert mail["to"] == "helene.dd@example.org" and "Dr Alice Martin" in mail["subject"]
    assert links_in(mail["body"]) == [inv["link"]] * 2
    assert stack.sms() == []
    [event] = stack.events("InvitationSent")
    assert event["detail"]["invitation_id"] == inv["id"] and event["detail"]["channel"] == "email"
    assert "helene" not in str(event["detail"]).lower()


def test_sms_when_only_a_french_mobile_is_given_stored_as_e164(stack):
    inv = send(MARC_SMS)
    assert inv["channel"] == "sms" and inv["phone"] == "+33612345678" and inv["email"] is None
    [sms] = stack.sms()
    assert sms["to"] == "+33612345678" and inv["link"] in sms["text"] and len(sms["text"]) <= 160
    assert sms["text"].startswith("Dr Alice Martin invites you")


def test_created_answers_location_and_the_same_object_as_get(stack):
    answer = call("POST", "/invitations", HELENE)
    assert answer.headers["Location"] == f"/invitations/{answer.json['id']}"
    got = call("GET", f"/invitations/{answer.json['id']}")
    assert got.status == 200 and got.json == {**answer.json, "delivery": got.json["delivery"]}
    assert (answer.json["delivery"]["status"], got.json["delivery"]["status"]) == ("queued", "sent")


def test_delivery_failure_keeps_the_invitation_with_the_reason(stack, clock):
    import json

    from invitations import runtime
    from tests.support import EVENTS, FakeContext, handler_of

    runtime.services().messenger.send_email = _raise_throttled  # type: ignore[method-assign]  # SES refuses after its retries
    sent = send(HELENE)
    assert call("GET", f"/invitations/{sent['id']}").json["delivery"]["status"] == "queued"  # retried by the stream
    clock.advance(minutes=31)  # still refused half an hour later: the sweeper's attempt records it failed
    handler_of("sweep_outbox")(
        json.loads((EVENTS / "sweep_outbox.json").read_text()), FakeContext(remaining_ms=300_000)
    )
    inv = call("GET", f"/invitations/{sent['id']}").json
    assert inv["delivery"]["status"] == "failed"
    assert "Throttling" in inv["delivery"]["detail"] and "helene" not in inv["delivery"]["detail"]
    assert call("GET", f"/invitations/{inv['id']}").json["link"] == inv["link"]


def _raise_throttled(*_args, **_kwargs):
    from invitations.ports import DeliveryFailed

    raise DeliveryFailed("email not sent: Throttling")


def test_idempotency_key_replays_the_first_answer_and_sends_nothing_more(stack):
    first = call("POST", "/invitations", HELENE, headers={"Idempotency-Key": "k-1"})
    again = call("POST", "/invitations", HELENE, headers={"Idempotency-Key": "k-1"})
    assert first.status == again.status == 201
    assert again.json == call("GET", f"/invitations/{first.json['id']}").json  # as it is now
    assert again.json == {**first.json, "delivery": again.json["delivery"]}  # the same, but now delivered
    assert len(stack.emails()) == 1
    other_body = call("POST", "/invitations", MARC_SMS, headers={"Idempotency-Key": "k-1"})
    assert other_body.status == 422 and other_body.json["error"]["code"] == "idempotency_key_reused"
    # The same key from another clinician is another request.
    bobs = call("POST", "/invitations", HELENE, headers={"Idempotency-Key": "k-1"}, as_=BOB)
    assert bobs.status == 201 and bobs.json["id"] != first.json["id"]


def test_a_replay_answers_the_invitation_as_it_is_now_never_a_dead_link(stack):
    first = call("POST", "/invitations", HELENE, headers={"Idempotency-Key": "k-3"})
    invitation_id = first.json["id"]
    assert call("PATCH", f"/invitations/{invitation_id}", {"first_name": "Hélèna"}).status == 200
    resent = call("POST", f"/invitations/{invitation_id}/resend").json
    again = call("POST", "/invitations", HELENE, headers={"Idempotency-Key": "k-3"})
    assert again.status == 201 and again.json == call("GET", f"/invitations/{invitation_id}").json
    assert again.json["link"] == resent["link"] != first.json["link"]  # the link that works now
    assert again.json["first_name"] == "Hélèna"
    assert call("DELETE", f"/invitations/{invitation_id}").status == 204
    gone = call("POST", "/invitations", HELENE, headers={"Idempotency-Key": "k-3"})
    assert gone.status == 404 and gone.json["error"]["code"] == "not_found"  # as GET would answer
    assert len(stack.emails()) == 2  # the send and the resend: replays send nothing


def test_idempotency_records_never_hold_the_link(stack):
    import boto3

    inv = call("POST", "/invitations", HELENE, headers={"Idempotency-Key": "k-2"}).json
    dump = str(boto3.client("dynamodb").scan(TableName="invitations-test")["Items"])
    assert inv["link"].rsplit("/", 1)[1] not in dump


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"last_name": "X", "email": "a@example.org"}, "first_name"),
        ({"first_name": " ", "last_name": "X", "email": "a@example.org"}, "first_name"),
        ({"first_name": "A" * 101, "last_name": "X", "email": "a@example.org"}, "first_name"),
        ({"first_name": "A", "last_name": "X"}, "body"),
        ({"first_name": "A", "last_name": "X", "email": "not-an-address"}, "email"),
        ({"first_name": "A", "last_name": "X", "phone": "12"}, "phone"),
        ({"first_name": "A", "last_name": "X", "phone": "01 42 68 53 00"}, "phone"),  # a landline gets no SMS
        ({"first_name": "A", "last_name": "X", "phone": "+1 202 555 0123 4"}, "phone"),
        ({"first_name": "A", "last_name": "X", "email": "a@example.org", "locale": "de"}, "locale"),
        ({"first_name": "A", "last_name": "X", "email": "a@example.org", "role": "admin"}, "role"),
        ({"first_name": 12, "last_name": "X", "email": "a@example.org"}, "first_name"),
        ({"first_name": ["A"], "last_name": "X", "email": "a@example.org"}, "first_name"),
    ],
)
def test_bad_input_is_422_with_the_field_and_writes_nothing(stack, body, field):
    answer = call("POST", "/invitations", body)
    assert answer.status == 422, answer.text
    error = answer.json["error"]
    assert error["code"] == "validation_error" and field in error["fields"], error
    assert "Traceback" not in answer.text
    assert call("GET", "/invitations").json["items"] == []
    assert stack.emails() == [] and stack.sms() == []


@pytest.mark.parametrize("raw", ["{", "not json", '{"first_name": "A",}'])
def test_malformed_json_is_400(stack, raw):
    answer = call("POST", "/invitations", raw_body=raw)
    assert answer.status == 400 and answer.json["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("raw", ["[]", '"text"', "42"])
def test_a_body_that_is_not_an_object_is_422(stack, raw):
    answer = call("POST", "/invitations", raw_body=raw)
    assert answer.status == 422 and answer.json["error"]["code"] == "validation_error"


def test_no_identity_is_401(stack):
    answer = call("POST", "/invitations", HELENE, as_=None)
    assert answer.status == 401 and answer.json["error"]["code"] == "unauthorized"


def test_a_clinician_never_sees_another_clinicians_invitation(stack):
    inv = send(HELENE)
    assert call("GET", f"/invitations/{inv['id']}", as_=BOB).status == 404
    assert call("GET", "/invitations", as_=BOB).json["items"] == []
    assert call("GET", "/invitations", query={"q": "hel"}, as_=BOB).json["items"] == []
    assert call("GET", "/invitations/unknown").json["error"]["code"] == "not_found"


def test_list_is_newest_sent_first_and_pages_with_an_opaque_cursor(stack, clock):
    sent = []
    for n in range(5):
        sent.append(send({"first_name": f"P{n}", "last_name": "Testard", "email": f"p{n}@example.org"})["id"])
        clock.advance(minutes=1)
    page1 = call("GET", "/invitations", query={"limit": 2}).json
    page2 = call("GET", "/invitations", query={"limit": 2, "cursor": page1["next_cursor"]}).json
    page3 = call("GET", "/invitations", query={"limit": 2, "cursor": page2["next_cursor"]}).json
    got = [i["id"] for i in page1["items"] + page2["items"] + page3["items"]]
    assert got == list(reversed(sent)) and page3["next_cursor"] is None


def test_a_cursor_is_useless_to_another_clinician_or_when_tampered(stack, clock):
    for n in range(3):
        send({"first_name": f"P{n}", "last_name": "Testard", "email": f"p{n}@example.org"})
        clock.advance(minutes=1)
    cursor = call("GET", "/invitations", query={"limit": 1}).json["next_cursor"]
    for probe in [
        {"cursor": cursor, "as_": BOB},
        {"cursor": cursor[:-3] + "abc", "as_": ALICE},
        {"cursor": "%%", "as_": ALICE},
    ]:
        answer = call("GET", "/invitations", query={"cursor": probe["cursor"]}, as_=probe["as_"])
        assert answer.status == 422 and answer.json["error"]["code"] == "validation_error"
        assert list(answer.json["error"]["fields"]) == ["cursor"]
    # A cursor belongs to its query too: reusing it for a search is refused.
    assert call("GET", "/invitations", query={"cursor": cursor, "q": "p1"}).status == 422


@pytest.mark.parametrize(
    "query", [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"status": "lost"}, {"q": "x" * 101}]
)
def test_bad_list_parameters_are_422(stack, query):
    answer = call("GET", "/invitations", query=query)
    assert answer.status == 422 and answer.json["error"]["code"] == "validation_error"


def test_search_by_the_start_of_any_name_word_ignoring_case_and_accents(stack, clock):
    helene = send(HELENE)["id"]
    clock.advance(minutes=1)
    marc = send(MARC_SMS)["id"]
    clock.advance(minutes=1)
    other = send({"first_name": "Odile", "last_name": "Helmut", "email": "o@example.org"})["id"]

    def search(q):
        return [i["id"] for i in call("GET", "/invitations", query={"q": q}).json["items"]]

    assert search("hel") == [other, helene]
    assert search("HÉLÈNE") == [helene]
    assert search("dupont") == [helene] and search("durand") == [helene]
    assert search("lem") == [marc]
    assert search("hel dup") == [helene]
    assert search("upont") == [] and search("zzz") == []


def test_a_search_with_no_word_in_it_matches_nothing(stack):
    send(HELENE)
    assert call("GET", "/invitations", query={"q": "-"}).json == {"items": [], "next_cursor": None}
    assert len(call("GET", "/invitations", query={"q": " "}).json["items"]) == 1  # blank: no search


def test_an_id_of_any_other_shape_is_404_as_if_it_did_not_exist(stack):
    for path in ["/invitations/" + "a" * 5000, "/invitations/..", "/patients/" + "f" * 200]:
        answer = call("GET", path)
        assert answer.status == 404 and answer.json["error"]["code"] == "not_found", path


def test_json_nested_too_deep_to_parse_is_400_not_500(stack):
    deep = "[" * 100_000 + "]" * 100_000
    for method, path in [("POST", "/invitations"), ("PATCH", "/invitations/" + "0" * 32)]:
        answer = call(method, path, raw_body=deep)
        assert answer.status == 400 and answer.json["error"]["code"] == "malformed_json"


def test_search_pages_too(stack, clock):
    ids = []
    for n in range(5):
        ids.append(send({"first_name": "Anne", "last_name": f"Martin{n}", "email": f"a{n}@example.org"})["id"])
        clock.advance(minutes=1)
    page1 = call("GET", "/invitations", query={"q": "anne", "limit": 3}).json
    page2 = call("GET", "/invitations", query={"q": "anne", "limit": 3, "cursor": page1["next_cursor"]}).json
    assert [i["id"] for i in page1["items"] + page2["items"]] == list(reversed(ids))
    assert page2["next_cursor"] is None


def test_search_reads_follow_the_rarest_word_not_the_clinicians_history(stack, clock):
    """`jean zan`: 'jean' is the longer word but the common one; the reads must not grow with it."""
    from invitations import runtime

    usage = runtime.table().usage
    zanettis = []
    for first in ("Jean", "Jeanne"):
        zanettis.append(send({"first_name": first, "last_name": "Zanetti", "email": f"{first}@example.org"})["id"])
        clock.advance(minutes=1)

    def jeans(count, start):
        for n in range(start, start + count):
            send({"first_name": "Jean", "last_name": f"Martin{n}", "email": f"j{n}@example.org"})

    def reads_of_search():
        before = usage.items_read
        found = [i["id"] for i in call("GET", "/invitations", query={"q": "jean zan"}).json["items"]]
        assert found == list(reversed(zanettis))
        return usage.items_read - before

    jeans(20, 0)
    with_20 = reads_of_search()
    jeans(40, 20)
    assert reads_of_search() == with_20
    # Both words' entries in turn (8 of 'jean', the 2 of 'zan'), then the 2 matches themselves.
    assert with_20 <= 8 + 2 + 2


def test_status_is_true_when_read_before_any_job_runs(stack, clock):
    inv = send(HELENE)
    clock.advance(days=14)
    got = call("GET", f"/invitations/{inv['id']}").json
    assert got["status"] == "expired" and got["link"] is None
    assert [i["id"] for i in call("GET", "/invitations", query={"status": "expired"}).json["items"]] == [inv["id"]]
    assert call("GET", "/invitations", query={"status": "pending"}).json["items"] == []


def test_status_filter(stack, clock):
    from tests.support import token_of

    pending = send(HELENE)["id"]
    accepted = send(MARC_SMS)
    call("POST", f"/i/{token_of(accepted['link'])}/accept")
    expired = send({"first_name": "Old", "last_name": "One", "email": "old@example.org"})["id"]
    clock.advance(days=13, hours=23)
    fresh = send({"first_name": "New", "last_name": "One", "email": "new@example.org"})["id"]
    clock.advance(hours=1)  # the first three were sent 14 days ago now

    def ids(status):
        return {i["id"] for i in call("GET", "/invitations", query={"status": status}).json["items"]}

    assert ids("accepted") == {accepted["id"]}
    assert ids("expired") == {pending, expired}
    assert ids("pending") == {fresh}


@pytest.mark.parametrize(
    ("content_type", "raw", "status"),
    [
        ("text/plain", '{"first_name": "A", "last_name": "B", "email": "a@example.org"}', 415),
        ("application/x-www-form-urlencoded", "first_name=A&email=secret%40example.org", 415),
        ("multipart/form-data", "--x--", 415),
    ],
)
def test_a_body_that_is_not_json_is_refused_and_never_echoed(stack, content_type, raw, status):
    answer = call("POST", "/invitations", raw_body=raw, headers={"content-type": content_type})
    assert answer.status == status and answer.json["error"]["code"] == "unsupported_media_type"
    assert "example.org" not in answer.text
