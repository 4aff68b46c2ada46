"""The local endpoints' bodies (/_local/token, /_local/clock, /_local/faults): one JSON object,
refused with the contract's 400 or 422 otherwise, read by one function for all three."""

import pytest

from local.apigw import BodyRefused, HttpRequest, json_object


def _request(body: bytes) -> HttpRequest:
    return HttpRequest("POST", "/_local/clock", "", [("content-type", "application/json")], body, "127.0.0.1", 3000)


def test_an_object_is_read_and_an_empty_body_is_an_empty_object():
    assert json_object(_request(b'{"reset": true}')) == {"reset": True}
    assert json_object(_request(b"")) == {}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [(b"{not json", 400, "malformed_json"), (b"[1]", 422, "validation_error"), (b'"text"', 422, "validation_error")],
)
def test_anything_else_is_refused_with_the_contracts_error(body, status, code):
    with pytest.raises(BodyRefused) as refused:
        json_object(_request(body))
    assert (refused.value.status, refused.value.code) == (status, code)
