"""Clean inputs at the edge, each rule with a test that fails without it: one JSON object per
body, a cleaned display name, a bounded `sub`, names without control or invisible characters,
addresses SES can deliver, and answers that are never cached."""

import json

import pytest

from tests.support import Clinician, call


def test_an_array_body_is_refused_on_every_route_that_takes_a_body(stack):
    sent = call("POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "a@example.org"}).json
    for method, path in [("POST", "/invitations"), ("PATCH", f"/invitations/{sent['id']}")]:
        body = json.dumps([{"first_name": "X", "last_name": "Y", "email": "x@example.org"}, {"evil": 1}])
        answer = call(method, path, raw_body=body)
        assert answer.status == 422 and answer.json["error"]["fields"] == {"body": "must be an object"}, path
    assert call("GET", f"/invitations/{sent['id']}").json["first_name"] == "A"


def test_the_name_claim_is_cleaned_once_at_the_edge(stack):
    dirty = Clinician("clinician-dirty", "Dr\r\nBcc: x@evil.example \u202eerue\u200b" + "A" * 500)
    call("POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "a@example.org"}, as_=dirty)
    [mail] = stack.emails()
    assert "\r" not in mail["subject"] and "\n" not in mail["subject"] and "\u202e" not in mail["subject"]
    assert "Dr Bcc: x@evil.example erue" in mail["subject"] and "A" * 101 not in mail["subject"]


def test_an_oversized_sub_is_unauthorized_before_any_storage_call(stack, monkeypatch):
    from invitations.adapters.dynamo.table import Table

    def no_storage(*_args, **_kwargs):
        raise AssertionError("storage was called")

    for method in ("get", "query", "pages", "batch_get", "write"):
        monkeypatch.setattr(Table, method, no_storage)
    answer = call("GET", "/invitations", as_=Clinician("x" * 129, "Dr X"))
    assert answer.status == 401 and answer.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "first_name",
    ["Jea\x00nne", "Jeanne\x07", "\u200b\u200b", "Jean\u202ene", "\u2066Jeanne"],
)
def test_names_with_control_or_invisible_characters_are_422(stack, first_name):
    answer = call("POST", "/invitations", {"first_name": first_name, "last_name": "B", "email": "a@example.org"})
    assert answer.status == 422 and "first_name" in answer.json["error"]["fields"]


def test_a_name_with_accents_and_a_hyphen_is_fine(stack):
    body = {"first_name": "Hélène-Zoé", "last_name": "N'Diaye", "email": "a@example.org"}
    assert call("POST", "/invitations", body).status == 201


def test_addresses_ses_cannot_deliver_are_refused_and_unicode_domains_go_as_punycode(stack):
    refused = call("POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "hélène@example.org"})
    assert refused.status == 422 and "email" in refused.json["error"]["fields"]
    sent = call("POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "helene@exämple.fr"})
    assert sent.status == 201 and sent.json["email"] == "helene@xn--exmple-cua.fr"
    assert stack.emails()[0]["to"] == "helene@xn--exmple-cua.fr"


def test_every_json_answer_is_never_cached_nor_sniffed(stack):
    sent = call("POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "a@example.org"})
    token = sent.json["link"].rsplit("/", 1)[1]
    answers = [
        sent,
        call("GET", "/invitations"),
        call("GET", f"/invitations/{sent.json['id']}"),
        call("GET", "/invitations/" + "0" * 32),  # an error
        call("POST", "/invitations", raw_body="{"),  # malformed
        call("GET", f"/i/{token}"),  # the patient's JSON view
    ]
    for answer in answers:
        assert answer.headers.get("Cache-Control") == "no-store", answer.status
        assert answer.headers.get("X-Content-Type-Options") == "nosniff", answer.status
