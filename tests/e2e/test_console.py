"""The local console (`make dev`, `/`) in a real browser: Debian's chromium, headless, driven by
Playwright, on a phone-sized screen. Each story of the product's help article is played through the
console's screens, which call the public API with a local clinician's bearer token. Every request
to another host is refused and recorded; no error may reach the browser's console; axe-core finds
no serious or critical accessibility violation; each screen is photographed into the test's folder."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from local.template import ROOT
from tests.e2e.conftest import (
    PHONE,
    Api,
    Outbox,
    Stack,
    eventually,
    open_link,
    simulator,
    unique_email,
    unique_phone,
)
from tests.privacy import remember

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WAIT_MS = 15_000
NOT_LOCAL = re.compile(r"^(?!https?://127\.0\.0\.1[:/])")  # any URL but this machine's


class Console:
    """The console on a phone, signed in as a clinician of its own (with an API client for the
    same clinician, to check what the console did through the API itself)."""

    def __init__(self, browser: Any, stack: Stack, shots: Path) -> None:
        self.stack = stack
        self.shots = shots
        self.api = Api(stack, f"console-{uuid.uuid4().hex[:8]}", "Dr Claire Moreau")
        self.context = browser.new_context(viewport=PHONE, locale="fr-FR", timezone_id="Europe/Paris")
        self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.url)
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.allowed_errors: list[str] = []  # e.g. "status of 422": a refusal the test asks for on purpose
        # Only other hosts reach Python (a handler for every request would stall the page while the
        # test waits on something else: the sync API runs handlers only inside its own calls).
        self.context.route(NOT_LOCAL, self._refuse)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _refuse(self, route: Any) -> None:
        self.foreign.append(route.request.url)
        route.abort()

    def sign_in(self) -> None:
        self.page.goto(f"{self.stack.url}/?clinician={quote(self.api.sub)}&name={quote(self.api.name)}")
        self.heading("Invitations patients")
        assert self.page.url.endswith("/#/invitations")  # the identity is not left in the address bar

    def heading(self, name: str) -> None:
        from playwright.sync_api import expect

        expect(self.page.get_by_role("heading", level=1, name=name)).to_be_visible()

    def says(self, text: str) -> None:
        from playwright.sync_api import expect

        expect(self.page.locator("#main")).to_contain_text(text)

    def told(self, text: str) -> None:
        """The message an action leaves (a notice: the previous one goes when a new action starts)."""
        from playwright.sync_api import expect

        expect(self.page.locator("#main .notice").first).to_contain_text(text)

    def click(self, name: str, role: str = "button") -> None:
        self.page.get_by_role(role, name=name, exact=True).click()  # type: ignore[arg-type]

    def open_invitation(self, invitation: dict[str, Any]) -> None:
        self.page.goto(f"{self.stack.url}/#/invitations/{invitation['id']}")
        self.heading(f"{invitation['first_name']} {invitation['last_name']}")

    def menu(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Menu").get_by_role("link", name=name).click()

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    def fits_the_screen(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"

    def accessible(self) -> None:
        """axe-core in the page: no serious or critical violation."""
        assert AXE.exists(), "axe-core is missing: npm ci (make setup) installs it"
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text() + "\n;undefined")
        result = self.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        serious = [
            (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, serious

    def close(self) -> None:
        self.context.close()
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        unexpected = [e for e in self.errors if not any(allowed in e for allowed in self.allowed_errors)]
        assert unexpected == [], f"errors in the browser's console: {unexpected}"


@pytest.fixture
def console(browser: Any, local_stack: Stack, tmp_path: Path) -> Iterator[Console]:
    opened = Console(browser, local_stack, tmp_path)
    opened.sign_in()
    yield opened
    opened.close()


def names() -> tuple[str, str]:
    """A patient of the test's own, with a last name no other test uses (search finds only it)."""
    last = "Lemaire" + uuid.uuid4().hex[:6]
    remember(last)
    return "Hélène", last


def test_send_then_find_by_typing_a_name(console: Console, outbox: Outbox) -> None:
    first, last = names()
    email = unique_email()
    console.menu("Nouvelle invitation")
    console.heading("Nouvelle invitation")
    console.accessible()

    console.allowed_errors.append("status of 422")  # the API's refusal, asked for on purpose
    console.page.get_by_label("Adresse e-mail").fill("pas-une-adresse")
    console.click("Envoyer l'invitation")
    console.says("Vérifiez les champs signalés.")
    first_name = console.page.get_by_label("Prénom")
    assert first_name.get_attribute("aria-invalid") == "true"
    # The API's messages, next to their fields, in French.
    assert console.page.locator("#f-first_name-error").inner_text() == "Ne peut pas être vide."
    assert "Adresse e-mail invalide" in console.page.locator("#f-email-error").inner_text()
    console.fits_the_screen()
    console.accessible()
    console.shot("1-send-refused")

    first_name.fill(first)
    console.page.get_by_label("Nom", exact=True).fill(last)
    console.page.get_by_label("Adresse e-mail").fill(email)
    console.click("Envoyer l'invitation")
    console.heading(f"{first} {last}")
    console.says("Invitation envoyée par e-mail")
    console.says("E-mail : une adresse a été donnée")
    console.says("En attente")
    [invitation] = console.api("GET", "/invitations").json()["items"]
    assert invitation["email"] == email
    assert outbox.emails_to(email)  # sent through the outbox, as from the clinician app

    console.menu("Invitations patients")
    console.heading("Invitations patients")
    console.says("1 invitation")
    search = console.page.get_by_role("searchbox", name="Rechercher un patient")
    search.press_sequentially("hel", delay=30)  # as one types: the start of a word, accents ignored
    row = console.page.locator("#invitations li.row")
    from playwright.sync_api import expect

    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{first} {last}")
    expect(row.locator(".status")).to_have_text("En attente")
    console.fits_the_screen()
    console.accessible()
    console.shot("2-list-search")

    search.fill("")
    search.press_sequentially("Zorglub", delay=30)
    console.says("Aucune invitation au nom de « Zorglub ».")
    console.says("Pour inviter un patient")
    console.accessible()
    console.shot("3-empty-search")
    console.page.locator("#invitations .empty").get_by_role("link", name="Nouvelle invitation").click()
    console.heading("Nouvelle invitation")


def test_copy_resend_correct_then_resend(console: Console, outbox: Outbox) -> None:
    first, last = names()
    invitation = console.api.invite(first_name=first, last_name=last, email=unique_email(), phone=unique_phone())
    console.open_invitation(invitation)
    console.says("Valable jusqu'au")
    link_box = console.page.get_by_label("Lien à copier")
    assert link_box.input_value() == invitation["link"]
    console.click("Copier le lien")
    console.says("Lien copié")
    assert console.page.evaluate("navigator.clipboard.readText()") == invitation["link"]
    qr = console.page.get_by_role("img", name="QR code du lien de l'invitation")
    from playwright.sync_api import expect

    expect(qr).to_be_visible()
    console.page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    console.fits_the_screen()
    console.accessible()
    console.shot("4-invitation")

    console.click("Renvoyer l'invitation")
    console.told("Invitation renvoyée : nouveau lien valable jusqu'au")
    resent = console.api("GET", f"/invitations/{invitation['id']}").json()
    assert resent["link"] != invitation["link"] and resent["send_count"] == 2
    expect(console.page.get_by_label("Lien à copier")).to_have_value(resent["link"])
    assert open_link(invitation["link"]).status_code == 404  # the old link is dead

    corrected = unique_email()
    console.page.get_by_label("Adresse e-mail").fill(corrected)
    console.click("Renvoyer l'invitation")  # the correction is saved, then the invitation resent
    console.told("Invitation renvoyée : nouveau lien")
    expect(console.page.get_by_label("Lien à copier")).not_to_have_value(resent["link"])
    now = console.api("GET", f"/invitations/{invitation['id']}").json()
    assert now["email"] == corrected and now["link"] != resent["link"]
    assert outbox.emails_to(corrected)
    history = console.page.locator(".timeline")
    expect(history).to_contain_text("Coordonnées corrigées")
    expect(history).to_contain_text("Invitation renvoyée")
    console.accessible()
    console.shot("5-corrected-and-resent")


def test_delete_with_a_confirmation(console: Console) -> None:
    first, last = names()
    invitation = console.api.invite(first_name=first, last_name=last, email=unique_email())
    console.open_invitation(invitation)
    console.click("Supprimer l'invitation")
    dialog = console.page.get_by_role("dialog", name="Supprimer l'invitation ?")
    from playwright.sync_api import expect

    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("ne pourra plus jamais être accepté")
    console.accessible()
    console.shot("6-delete-confirm")
    dialog.get_by_role("button", name="Annuler").click()
    expect(dialog).to_be_hidden()
    assert console.api("GET", f"/invitations/{invitation['id']}").status_code == 200

    console.click("Supprimer l'invitation")
    dialog.get_by_role("button", name="Supprimer définitivement").click()
    console.heading("Invitations patients")
    console.says(f"Invitation de {first} {last} supprimée.")
    console.says("Aucune invitation pour l'instant.")
    assert console.api("GET", f"/invitations/{invitation['id']}").status_code == 404
    assert open_link(invitation["link"]).status_code == 404


def test_accept_from_the_outbox_then_the_patient_record(console: Console, outbox: Outbox) -> None:
    first, last = names()
    invitation = console.api.invite(first_name=first, last_name=last, phone=unique_phone())
    assert outbox.messages_with(invitation["link"])
    remember(invitation["link"])
    console.menu("Émulateur")
    console.heading("Émulateur local")
    sms = console.page.locator("article.outbox-sms").filter(has=console.page.locator(f'a[href="{invitation["link"]}"]'))
    from playwright.sync_api import expect

    console.shot("7-emulator")
    expect(sms).to_have_count(1)
    console.fits_the_screen()
    console.accessible()
    console.shot("7-emulator")
    sms.get_by_role("link", name="Ouvrir le lien de l'invitation").click()
    expect(console.page.get_by_text("Dr Claire Moreau vous invite")).to_be_visible()
    console.page.get_by_role("button", name="Accepter l'invitation").click()
    expect(console.page.get_by_text("Invitation acceptée").first).to_be_visible()

    console.open_invitation(invitation)
    console.says("Acceptée")
    console.says("Plus de lien : l'invitation est acceptée.")
    console.shot("8-accepted")
    console.page.get_by_role("heading", level=1).get_by_role("link").click()  # the patient's name, at the top
    console.heading(f"{first} {last}")
    console.says("Fil patient actif.")
    console.click("Administratif")
    console.click("Modifier")
    phone = unique_phone()
    console.page.get_by_label("Téléphone mobile").fill(phone)
    console.click("Enregistrer")
    console.says("Informations administratives enregistrées.")
    console.says(phone)
    patient_id = console.api("GET", f"/invitations/{invitation['id']}").json()["patient_id"]
    assert console.api("GET", f"/patients/{patient_id}").json()["phone"] == phone
    console.fits_the_screen()
    console.accessible()
    console.shot("9-patient-record")

    console.click("Quitter le fil patient")
    console.page.get_by_role("dialog").get_by_role("button", name="Quitter le fil").click()
    console.says("Vous avez quitté ce fil patient")
    assert console.api("GET", f"/patients/{patient_id}").json()["thread"] == "left"
    expect(console.page.get_by_role("button", name="Quitter le fil patient")).to_have_count(0)
    console.shot("10-left-the-thread")


def test_expire_with_the_clock_then_resend(console: Console, local_clock: Any, local_faults: Any) -> None:
    first, last = names()
    invitation = console.api.invite(first_name=first, last_name=last, email=unique_email())
    console.menu("Émulateur")
    console.heading("Émulateur local")
    console.click("Avancer de 14 jours")
    console.says("Avancée de 14 jours.")
    console.click("Lancer les tâches planifiées")
    console.says("Terminé.")

    console.page.get_by_label("Fournisseur", exact=True).select_option("sms")
    console.page.get_by_label("Valeur").fill("2")
    console.click("Appliquer la panne")
    console.says("Pannes actives")
    console.click("Tout rétablir")
    console.accessible()
    console.shot("11-emulator-panels")

    console.open_invitation(invitation)
    console.says("Expirée")
    console.says("Cette invitation a expiré")
    console.shot("12-expired")
    console.click("Renvoyer l'invitation")
    console.told("Invitation renvoyée")
    console.says("En attente")
    now = console.api("GET", f"/invitations/{invitation['id']}").json()
    assert now["status"] == "pending"
    assert open_link(now["link"]).status_code == 200


def test_filter_by_status_and_delivery_and_send_in_the_patients_time_zone(console: Console, outbox: Outbox) -> None:
    first, last = names()
    pending = console.api.invite(first_name=first, last_name=last + "a", email=unique_email())
    accepted = console.api.invite(first_name=first, last_name=last + "b", email=unique_email())
    assert open_link(accepted["link"] + "/accept", method="POST").status_code == 200
    bounced = console.api.invite(first_name=first, last_name=last + "c", email=simulator("bounce"))
    reported = eventually(  # SES's bounce, reported through the local simulators
        lambda: console.api("GET", f"/invitations/{bounced['id']}").json()["delivery"]["status"],
        lambda status: status == "bounced",
        timeout=20,
    )
    assert reported == "bounced"
    from playwright.sync_api import expect

    console.page.reload()
    console.heading("Invitations patients")
    rows = console.page.locator("#invitations li.row")
    expect(rows).to_have_count(3)
    console.page.get_by_label("Statut").select_option("accepted")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(f"{first} {last}b")
    console.page.get_by_label("Statut").select_option("pending")
    expect(rows).to_have_count(2)  # the bounced one is still pending: its address is to correct
    console.page.get_by_label("Envoi").select_option("bounced")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(f"{first} {last}c")
    expect(rows).to_contain_text("adresse invalide")
    console.fits_the_screen()
    console.accessible()
    console.shot("13-list-filtered")
    console.page.get_by_label("Statut").select_option("accepted")
    console.says("Aucune invitation avec ces filtres.")
    expect(rows).to_have_count(0)
    console.click("Effacer les filtres")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text=f"{first} {pending['last_name']}")).to_have_count(1)
    expect(console.page.get_by_label("Statut")).to_have_value("")

    console.menu("Nouvelle invitation")
    console.page.get_by_label("Prénom").fill(first)
    console.page.get_by_label("Nom", exact=True).fill(last + "d")
    phone = unique_phone()
    console.page.get_by_label("Téléphone mobile").fill(phone)
    console.page.get_by_label("Fuseau horaire du patient").select_option("Indian/Reunion")
    console.click("Envoyer l'invitation")
    console.heading(f"{first} {last}d")
    console.says("Invitation envoyée par SMS")
    console.says("La Réunion (les dates ci-dessous sont à l'heure de Paris)")
    sent = [i for i in console.api("GET", "/invitations").json()["items"] if i["phone"] == phone]
    assert [i["time_zone"] for i in sent] == ["Indian/Reunion"]
    console.accessible()


def test_the_token_route_is_for_this_host_only(local_stack: Stack) -> None:
    body = '{"sub": "dr-x", "name": "Dr X"}'
    json_type = {"Content-Type": "application/json"}
    ok = requests.post(f"{local_stack.url}/_local/token", data=body, headers=json_type, timeout=10)
    assert ok.status_code == 200 and ok.json()["token"]
    port = urlsplit(local_stack.url).port
    rebound = {**json_type, "Host": f"evil.example:{port}"}
    assert requests.post(f"{local_stack.url}/_local/token", data=body, headers=rebound, timeout=10).status_code == 403
    other_site = {**json_type, "Origin": "https://evil.example"}
    assert (
        requests.post(f"{local_stack.url}/_local/token", data=body, headers=other_site, timeout=10).status_code == 403
    )
    plain = {"Content-Type": "text/plain"}  # a form of another site cannot send JSON without a preflight
    assert requests.post(f"{local_stack.url}/_local/token", data=body, headers=plain, timeout=10).status_code == 415
    qr = requests.get(f"{local_stack.url}/_local/qr", params={"data": "http://127.0.0.1/i/x"}, timeout=10)
    assert qr.status_code == 200 and qr.headers["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    page = requests.get(f"{local_stack.url}/", timeout=10)
    assert page.status_code == 200 and "default-src 'none'" in page.headers["Content-Security-Policy"]
