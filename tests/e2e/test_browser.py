"""The patient's page in a real browser: Debian's chromium, headless, driven by Playwright (never a
downloaded browser), on a phone-sized viewport, with JavaScript off, talking to 127.0.0.1 only."""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import PHONE, Api, Clock, Outbox, Stack, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


class Phone:
    """A fresh phone-sized page without JavaScript that refuses, and records, any other host."""

    def __init__(self, browser: object, shots: Path) -> None:
        self.context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="fr-FR")  # type: ignore[attr-defined]
        self.foreign: list[str] = []
        self.requested: list[str] = []
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        self.shots = shots

    def _only_local(self, route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        self.requested.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.foreign.append(url)
            route.abort()  # type: ignore[attr-defined]

    def open(self, url: str) -> int:
        response = self.page.goto(url)
        assert response is not None
        return int(response.status)

    def text(self) -> str:
        return str(self.page.inner_text("body"))

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    def fits_the_screen(self, selector: str) -> None:
        box = self.page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


@pytest.fixture
def phone(browser: object, tmp_path: Path) -> Iterator[Phone]:
    opened = Phone(browser, tmp_path)
    yield opened
    opened.context.close()
    assert opened.foreign == [], f"requests to other hosts: {opened.foreign}"
    assert opened.requested, "the page made no request at all"


def test_open_the_link_and_accept(alice: Api, outbox: Outbox, phone: Phone) -> None:
    email = unique_email()
    invitation = alice.invite(email=email)
    [mail] = outbox.messages_with(invitation["link"])

    assert phone.open(mail["link"]) == 200
    text = phone.text()
    assert "Dr Alice Martin vous invite" in text
    assert "valable jusqu" in text
    assert email not in text and "Dupont" not in text  # never the patient's own details
    assert phone.page.locator("html").get_attribute("lang") == "fr"
    phone.fits_the_screen("button")
    phone.shot("1-invitation")

    with phone.page.expect_navigation():
        phone.page.get_by_role("button", name="Accepter l'invitation").click()
    assert "Invitation acceptée" in phone.text()
    assert "Dr Alice Martin" in phone.text()
    phone.shot("2-accepted")
    assert alice("GET", f"/invitations/{invitation['id']}").json()["status"] == "accepted"


def test_an_expired_link_asks_to_resend(alice: Api, outbox: Outbox, local_clock: Clock, phone: Phone) -> None:
    invitation = alice.invite(email=unique_email())
    [mail] = outbox.messages_with(invitation["link"])
    local_clock.advance(14 * 86400 + 1)
    assert phone.open(mail["link"]) == 410
    text = phone.text()
    assert "Invitation expirée" in text and "Demandez à Dr Alice Martin de vous la renvoyer" in text
    assert phone.page.locator("button").count() == 0
    phone.shot("3-expired")


def test_a_deleted_link_is_no_longer_valid(alice: Api, outbox: Outbox, phone: Phone) -> None:
    invitation = alice.invite(email=unique_email())
    [mail] = outbox.messages_with(invitation["link"])
    assert alice("DELETE", f"/invitations/{invitation['id']}").status_code == 204
    assert phone.open(mail["link"]) == 404
    assert "Ce lien n'est plus valide" in phone.text()
    phone.shot("4-deleted")


def test_the_outbox_page_links_to_the_invitation(alice: Api, local_stack: Stack, outbox: Outbox, phone: Phone) -> None:
    invitation = alice.invite(email=unique_email())
    assert outbox.messages_with(invitation["link"])  # dispatched through the outbox, within moments
    assert phone.open(f"{local_stack.url}/_local/outbox") == 200
    phone.shot("5-outbox")
    link = phone.page.locator(f'a[href="{invitation["link"]}"]').first
    with phone.page.expect_navigation():
        link.click()
    assert phone.page.url == invitation["link"]
    assert "Dr Alice Martin vous invite" in phone.text()
    phone.shot("6-from-the-outbox")
