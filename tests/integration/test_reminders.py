"""The reminder job through its handler (moto): once after 11 days even with the schedules run
twice, none for an accepted invitation."""

import json

from tests.support import EVENTS, FakeContext, call, handler_of, token_of


def _run() -> dict:
    event = json.loads((EVENTS / "remind_invites.json").read_text())
    return handler_of("remind_invites")(event, FakeContext(remaining_ms=300_000))


def test_once_after_eleven_days_even_run_twice_and_never_once_accepted(stack, clock):
    waiting = call("POST", "/invitations", {"first_name": "A", "last_name": "B", "email": "w@example.org"}).json
    accepted = call("POST", "/invitations", {"first_name": "C", "last_name": "D", "phone": "+33612345678"}).json
    call("POST", f"/i/{token_of(accepted['link'])}/accept")
    assert _run() == {"reminded": 0}
    clock.advance(days=11, minutes=1)
    assert _run() == {"reminded": 1}
    assert _run() == {"reminded": 0}
    reminders = [m for m in stack.emails() if m["subject"].startswith("Rappel")]
    assert len(reminders) == 1 and waiting["link"] in reminders[0]["body"]
    assert len(stack.sms()) == 1  # the accepted one's invitation only
    got = call("GET", f"/invitations/{waiting['id']}").json
    assert got["send_count"] == 2 and got["link"] == waiting["link"]
    history = [h["type"] for h in call("GET", f"/invitations/{waiting['id']}/history").json["items"]]
    assert history == ["sent", "dispatched", "reminded", "dispatched"]
    [event] = stack.events("InvitationReminded")
    assert event["detail"]["invitation_id"] == waiting["id"]
