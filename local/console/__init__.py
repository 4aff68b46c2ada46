"""The local console (`make dev` only, never deployed, never in template.yaml): the clinician app's
screens (the product's help article), served at `/`, whose JavaScript calls the public API exactly
as the clinician app does (`Authorization: Bearer`, the same routes).

Its own local-only routes:
- `GET /` and `GET /_local/console/<asset>`: the page, its script and its style (nothing from
  another host);
- `POST /_local/token` `{"sub", "name"}`: a bearer token for that clinician, signed with the local
  key (as `make token`). The dev server listens on 127.0.0.1 only; this route also refuses any
  other Host (a page of another site rebinding its name to 127.0.0.1) and any cross-site Origin;
- `GET /_local/qr?data=<text>`: a QR code of the text, as SVG (segno);
- `GET /_local/console/email?n=<index>`: one email of the outbox as the patient sees it, sandboxed
  (the console shows it in a frame)."""

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local import auth
from local.apigw import BodyRefused, HttpRequest, HttpResponse, json_object

STATIC = Path(__file__).parent / "static"
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_QR_DATA = 1000
MAX_CLAIM = 200

# The page runs only its own script and style; it talks to its own origin only.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# An email shown in the console's frame: its own inline style, nothing else, no script.
EMAIL_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def _error(status: int, code: str, message: str) -> HttpResponse:
    return HttpResponse.json(status, {"error": {"code": code, "message": message}}, ("Cache-Control", "no-store"))


def _headers(content_type: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        *extra,
    ]


def qr_svg(data: str) -> bytes:
    import segno  # a development package (requirements-dev.txt): imported only when a QR is asked for

    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False, title="QR code")
    return bytes(buffer.getvalue())


@dataclass
class Console:
    data_dir: Path
    port: int
    outbox: Callable[[], dict[str, list[dict[str, Any]]]] | None = None  # the outbox's snapshot

    def handle(self, request: HttpRequest) -> tuple[HttpResponse, str] | None:
        """The console's answer and its log label, or None when the request is not the console's."""
        path, method = request.raw_path, request.method
        if path == "/" and method in ("GET", "HEAD"):
            return self._page(), "GET / (console)"
        if path.startswith("/_local/console/") and method in ("GET", "HEAD"):
            name = path.removeprefix("/_local/console/")
            if name == "email":
                return self._email(request), "GET /_local/console/email"
            if name in ASSETS:
                return HttpResponse(200, _headers(ASSETS[name]), (STATIC / name).read_bytes()), f"GET {path}"
            return _error(404, "not_found", "No such file."), "GET /_local/console/(none)"
        if path == "/_local/token" and method == "POST":
            return self._token(request), "POST /_local/token"
        if path == "/_local/qr" and method in ("GET", "HEAD"):
            return self._qr(request), "GET /_local/qr"
        return None

    def _same_host(self, request: HttpRequest) -> bool:
        """The request names this server as the browser reached it: 127.0.0.1 or localhost, this port
        (a page of another site whose name was rebound to 127.0.0.1 still sends its own name)."""
        allowed = {f"{host}:{self.port}" for host in LOOPBACK_HOSTS}
        if (request.header("host") or "").lower() not in allowed:
            return False
        origin = request.header("origin")
        return origin is None or (urlsplit(origin).netloc.lower() in allowed)

    def _page(self) -> HttpResponse:
        body = (STATIC / "index.html").read_bytes()
        return HttpResponse(200, _headers("text/html; charset=utf-8", ("Content-Security-Policy", PAGE_POLICY)), body)

    def _token(self, request: HttpRequest) -> HttpResponse:
        if not self._same_host(request):
            return _error(403, "forbidden", "Tokens are minted for the console on 127.0.0.1 only.")
        if "application/json" not in (request.header("content-type") or "").lower():
            return _error(415, "unsupported_media_type", "Send the request as application/json.")
        try:
            body = json_object(request)
        except BodyRefused as refused:
            return _error(refused.status, refused.code, str(refused))
        fields = {}
        for name in ("sub", "name"):
            value = body.get(name)
            if not isinstance(value, str) or not value.strip():
                fields[name] = "Obligatoire."
            elif len(value) > MAX_CLAIM:
                fields[name] = f"{MAX_CLAIM} caractères au plus."
        if fields:
            answer = {"error": {"code": "validation_error", "message": "Identité incomplète.", "fields": fields}}
            return HttpResponse.json(422, answer, ("Cache-Control", "no-store"))
        lifetime = auth.DEFAULT_LIFETIME_SECONDS
        token = auth.mint(self.data_dir, body["sub"].strip(), body["name"].strip(), lifetime)
        expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + lifetime))
        payload = {"token": token, "sub": body["sub"].strip(), "name": body["name"].strip(), "expires_at": expires_at}
        return HttpResponse.json(200, payload, ("Cache-Control", "no-store"))

    def _qr(self, request: HttpRequest) -> HttpResponse:
        data = (parse_qs(request.raw_query).get("data") or [""])[0]
        if not data or len(data) > MAX_QR_DATA:
            return _error(422, "validation_error", f"Give ?data= (1 to {MAX_QR_DATA} characters).")
        return HttpResponse(200, _headers("image/svg+xml"), qr_svg(data))

    def _email(self, request: HttpRequest) -> HttpResponse:
        number = (parse_qs(request.raw_query).get("n") or [""])[0]
        emails = self.outbox()["emails"] if self.outbox else []
        if not number.isdigit() or int(number) >= len(emails):
            return _error(404, "not_found", "No such email in the outbox.")
        html = str(emails[int(number)].get("html") or "")
        headers = _headers("text/html; charset=utf-8", ("Content-Security-Policy", EMAIL_POLICY))
        return HttpResponse(200, headers, html.encode())
