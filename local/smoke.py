"""`make smoke API_URL=... TOKEN=...`: the seed's main stories, played against a deployed stack
(or `make dev`) through its public API, as the clinician app and a patient's browser would:
send by email, list, search by name, get, resend, open the patient's page, delete (the link is
then dead). Everything it creates is deleted at the end, whatever happened. Accepting opens a
real patient thread downstream: only with `--accept`, for stages that are not production.

It mails AWS's mailbox simulator (success@simulator.amazonses.com: delivered, no real person),
so a run costs nothing and reaches no one. The service's own limits apply to it too: the
recipient limit allows three runs per 24 hours for one smoke clinician.

    python -m local.smoke --api-url https://api.example.org --token "$TOKEN" [--accept]
Exit status 0 when every step passed; each step prints one line."""

import argparse
import secrets
import string
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

SIMULATOR = "success@simulator.amazonses.com"
TIMEOUT = 30


class SmokeFailed(Exception):
    pass


@dataclass
class Smoke:
    api_url: str
    token: str
    say: Callable[[str], None] = print
    created: list[str] = field(default_factory=list)

    def _call(self, method: str, path: str, expect: int, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        answer = requests.request(method, self.api_url.rstrip("/") + path, headers=headers, timeout=TIMEOUT, **kwargs)
        if answer.status_code != expect:
            # The status and the error code only: a body may hold patient data or a link.
            code = (
                answer.json().get("error", {}).get("code")
                if answer.headers.get("content-type", "").startswith("application/json")
                else None
            )
            raise SmokeFailed(f"{method} {path.split('/i/')[0]}: {answer.status_code} (expected {expect}, {code})")
        return answer

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        try:
            yield
        except SmokeFailed:
            self.say(f"FAIL {name}")
            raise
        except (requests.RequestException, KeyError, ValueError) as error:
            self.say(f"FAIL {name}")
            raise SmokeFailed(f"{name}: {type(error).__name__}") from None
        self.say(f"ok   {name}")

    def check(self, condition: bool, what: str) -> None:
        if not condition:
            raise SmokeFailed(what)

    def run(self, accept: bool = False) -> None:
        # A surname no patient has: the search must find this invitation and only it.
        marker = "Smoke" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
        try:
            self._stories(marker, accept)
        finally:
            self.clean_up()

    def _stories(self, marker: str, accept: bool) -> None:
        body = {"first_name": "Test", "last_name": marker, "email": SIMULATOR, "locale": "fr"}
        with self.step("send an invitation by email"):
            sent = self._call("POST", "/invitations", 201, json=body).json()
            self.created.append(sent["id"])
            self.check(sent["channel"] == "email" and sent["status"] == "pending" and sent["link"], "sent as expected")
        with self.step("list: it is the newest"):
            items = self._call("GET", "/invitations", 200, params={"limit": 5}).json()["items"]
            self.check(items and items[0]["id"] == sent["id"], "newest first")
        with self.step("search by typing the name"):
            found = self._call("GET", "/invitations", 200, params={"q": marker[:8].lower()}).json()["items"]
            self.check([i["id"] for i in found] == [sent["id"]], "found by its name")
        with self.step("get it"):
            got = self._call("GET", f"/invitations/{sent['id']}", 200).json()
            self.check(got["link"] == sent["link"], "the same link")
        with self.step("resend: a new link"):
            resent = self._call("POST", f"/invitations/{sent['id']}/resend", 200).json()
            self.check(resent["link"] != sent["link"] and resent["send_count"] == 2, "a new link")
        with self.step("the old link is dead, the new one opens the patient's page"):
            old = requests.get(sent["link"], headers={"Accept": "application/json"}, timeout=TIMEOUT)
            self.check(old.status_code == 404, "old link 404")
            page = requests.get(resent["link"], headers={"Accept": "text/html"}, timeout=TIMEOUT)
            self.check(page.status_code == 200 and "text/html" in page.headers.get("content-type", ""), "page")
        if accept:
            with self.step("accept (a patient thread opens downstream)"):
                done = requests.post(
                    resent["link"] + "/accept", headers={"Accept": "application/json"}, timeout=TIMEOUT
                )
                self.check(done.status_code == 200 and done.json()["status"] == "accepted", "accepted")
                patient = self._call("GET", f"/patients/{done.json()['patient_id']}", 200).json()
                self.check(patient["invitation_id"] == sent["id"], "the patient record")
                self._call("POST", f"/patients/{patient['id']}/leave", 200)
                self.created.remove(sent["id"])  # accepted: it stays (the thread is left)
            return
        with self.step("delete: the link is dead for ever"):
            self._call("DELETE", f"/invitations/{sent['id']}", 204)
            self.created.remove(sent["id"])
            gone = requests.get(resent["link"], headers={"Accept": "application/json"}, timeout=TIMEOUT)
            self.check(gone.status_code == 404, "deleted link 404")
            self._call("GET", f"/invitations/{sent['id']}", 404)

    def clean_up(self) -> None:
        for invitation_id in list(self.created):
            try:
                self._call("DELETE", f"/invitations/{invitation_id}", 204)
                self.created.remove(invitation_id)
            except (SmokeFailed, requests.RequestException):
                self.say(f"could not delete invitation {invitation_id}: delete it by hand")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.smoke", description=__doc__)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--token", required=True, help="a clinician's bearer token for that stack")
    parser.add_argument("--accept", action="store_true", help="also accept (never on production)")
    args = parser.parse_args(argv)
    try:
        Smoke(args.api_url, args.token).run(accept=args.accept)
    except SmokeFailed as failure:
        print(f"smoke test failed: {failure}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
