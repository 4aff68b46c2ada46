"""What ops see: every log line carries the request's correlation id, and the metrics are EMF
under the Invitations namespace with the names the README lists."""

import io
import json
import logging

from invitations.observability import logger
from tests.support import EVENTS, call, token_of


def _log_lines(run) -> list[dict]:
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        run()
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]


def _emf(printed: str) -> list[dict]:
    documents = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    return [d for d in documents if "_aws" in d]


def test_log_lines_carry_the_request_id_as_correlation_id(stack):
    request_id = json.loads((EVENTS / "send_invite.json").read_text())["requestContext"]["requestId"]
    body = {"first_name": "Olga", "last_name": "Corrélation", "email": "olga@example.org"}
    lines = _log_lines(lambda: call("POST", "/invitations", body))
    assert any(line["message"] == "invitation sent" for line in lines)
    assert {line.get("correlation_id") for line in lines} == {request_id}


def test_metrics_are_emf_with_the_documented_names(stack, capsys):
    capsys.readouterr()
    body = {"first_name": "Max", "last_name": "Métrique", "email": "max@example.org"}
    invitation = call("POST", "/invitations", body).json
    call("POST", f"/i/{token_of(invitation['link'])}/accept")
    documents = _emf(capsys.readouterr().out)
    names = {m["Name"] for d in documents for block in d["_aws"]["CloudWatchMetrics"] for m in block["Metrics"]}
    assert {"InvitationsSent", "InvitationsAccepted"} <= names
    assert {block["Namespace"] for d in documents for block in d["_aws"]["CloudWatchMetrics"]} == {"Invitations"}
