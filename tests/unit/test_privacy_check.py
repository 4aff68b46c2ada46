"""The suite-wide log check must be able to fail: it finds a value however it is cased."""

from tests.privacy import SENSITIVE, leaks, remember_payload


def test_leak_detector_finds_values_in_any_case():
    assert leaks('{"message": "sent to HELENE@EXAMPLE.ORG"}', {"helene@example.org"}) == {"helene@example.org"}
    assert leaks('{"message": "sent", "invitation_id": "abc"}', {"helene@example.org"}) == set()
    assert leaks('{"channel": "email"}', {"Anne"}) == set()
    assert leaks('{"name": "anne"}', {"Anne"}) == {"Anne"}


def test_payloads_register_names_contacts_and_link_tokens():
    remember_payload({"items": [{"first_name": "Zoéline", "link": "https://x/i/TOKENVALUE123"}]})
    assert {"Zoéline", "TOKENVALUE123"} <= SENSITIVE
