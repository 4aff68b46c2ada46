"""Link tokens and list cursors: re-displayable to the clinician, yet never stored, signed by the
key ring of keyring.py, which rotates.

token  = base64url(key id (1 byte) || invitation id (16 bytes) || HMAC-SHA256(k_link, "<id>|<version>")[:16])
         44 characters, no padding (33 bytes: no two strings decode to the same token)
cursor = base64url(key id (1 byte) || HMAC-SHA256(k_cursor, scope NUL payload)[:16] || payload)

The table holds only the id and the link version, so a dump of it cannot forge a link: the
128 bits of MAC are under a key kept in Secrets Manager. Replacing the link is bumping the
version; checking one is a constant-time comparison against the current version's MAC under the
key the token names.
"""

import base64
import binascii
import hmac
import json
import re
import time
from collections.abc import Callable

from invitations.keyring import RING_LIFETIME_SECONDS, Expiring, KeyRing

_KID_BYTES = 1
_ID_BYTES = 16
_MAC_BYTES = 16  # 128 bits an attacker cannot guess
TOKEN_LENGTH = 44  # base64url of 33 bytes
_TOKEN = re.compile(r"[A-Za-z0-9_-]{44}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


Secret = bytes | str | KeyRing


class TokenSigner:
    """The ring is read on first use, so a function that never signs anything never fetches it.
    A callable source is read through `Expiring` (at most once per `lifetime`); the ring is parsed
    again only when the source hands over a new value."""

    def __init__(
        self,
        secret: Secret | Callable[[], Secret],
        lifetime: float = RING_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if callable(secret) and not isinstance(secret, Expiring):
            secret = Expiring(secret, lifetime, clock)
        self._source = secret
        self._parsed: tuple[Secret, KeyRing] | None = None

    def ring(self) -> KeyRing:
        raw = self._source() if callable(self._source) else self._source
        if isinstance(raw, KeyRing):
            return raw
        parsed = self._parsed
        if parsed is None or parsed[0] is not raw:
            parsed = (raw, KeyRing.parse(raw))
            self._parsed = parsed  # one assignment: threads see the old pair or the new one
        return parsed[1]

    @staticmethod
    def _link_mac(key: bytes, invitation_id: str, version: int) -> bytes:
        message = f"{invitation_id}|{version}".encode()
        return hmac.digest(key, message, "sha256")[:_MAC_BYTES]  # one call: a page signs 20

    def link_token(self, invitation_id: str, version: int) -> str:
        ring = self.ring()
        mac = self._link_mac(ring.signing.link, invitation_id, version)
        return _b64(bytes((ring.current,)) + bytes.fromhex(invitation_id) + mac)

    @staticmethod
    def _raw(token: str) -> bytes | None:
        if not _TOKEN.fullmatch(token):
            return None
        try:
            raw = _unb64(token)
        except (binascii.Error, ValueError):
            return None
        return raw if len(raw) == _KID_BYTES + _ID_BYTES + _MAC_BYTES else None

    @classmethod
    def invitation_id_of(cls, token: str) -> str | None:
        """The invitation a token claims to open (unverified), or None if it is not a token."""
        raw = cls._raw(token)
        return raw[_KID_BYTES : _KID_BYTES + _ID_BYTES].hex() if raw else None

    def key_id_of(self, token: str) -> int | None:
        raw = self._raw(token)
        return raw[0] if raw else None

    def verify(self, token: str, invitation_id: str, version: int) -> bool:
        """Constant time, and the same work for a key id the ring does not hold (the MAC is then
        computed under the current key, and the answer is no)."""
        raw = self._raw(token)
        if raw is None:
            return False
        ring = self.ring()
        keys = ring.keys(raw[0])
        key = (keys or ring.signing).link
        try:
            claimed_id = bytes.fromhex(invitation_id)
        except ValueError:
            return False
        expected = raw[:_KID_BYTES] + claimed_id + self._link_mac(key, invitation_id, version)
        return hmac.compare_digest(expected, raw) and keys is not None

    def sign_cursor(self, scope: str, position: dict[str, str]) -> str:
        ring = self.ring()
        payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.digest(ring.signing.cursor, scope.encode() + b"\0" + payload, "sha256")[:_MAC_BYTES]
        return _b64(bytes((ring.current,)) + mac + payload)

    def open_cursor(self, scope: str, cursor: str) -> dict[str, str] | None:
        """The position a cursor carries, or None if it was not issued for this scope by a key
        of the ring."""
        if len(cursor) > 4096:
            return None
        try:
            raw = _unb64(cursor)
        except (binascii.Error, ValueError):
            return None
        if len(raw) < _KID_BYTES + _MAC_BYTES:
            return None
        key_id, mac, payload = raw[0], raw[_KID_BYTES : _KID_BYTES + _MAC_BYTES], raw[_KID_BYTES + _MAC_BYTES :]
        ring = self.ring()
        keys = ring.keys(key_id)
        key = (keys or ring.signing).cursor
        expected = hmac.digest(key, scope.encode() + b"\0" + payload, "sha256")[:_MAC_BYTES]
        if not hmac.compare_digest(mac, expected) or keys is None:
            return None
        try:
            position = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
            return None
        return position


class SignedLinks:
    """The Links port: `<base url>/i/<token>`, the token derived again on every read; and the
    patients' help page (the service's own `/help`, or the product's help centre if configured)."""

    def __init__(self, signer: TokenSigner, base_url: str, help_url: str = "") -> None:
        self._signer = signer
        self._base_url = base_url.rstrip("/")
        self._help_url = help_url

    def help(self, locale: str) -> str:
        if self._help_url:
            return self._help_url
        return f"{self._base_url}/help?lang={locale}"

    def url(self, invitation_id: str, link_version: int) -> str:
        return f"{self._base_url}/i/{self._signer.link_token(invitation_id, link_version)}"

    def invitation_id_of(self, token: str) -> str | None:
        return self._signer.invitation_id_of(token)

    def verify(self, token: str, invitation_id: str, link_version: int) -> bool:
        return self._signer.verify(token, invitation_id, link_version)


class SignedCursors:
    """The Cursors port: list positions signed for one clinician's one listing."""

    def __init__(self, signer: TokenSigner) -> None:
        self._signer = signer

    def sign(self, scope: str, position: dict[str, str]) -> str:
        return self._signer.sign_cursor(scope, position)

    def open(self, scope: str, cursor: str) -> dict[str, str] | None:
        return self._signer.open_cursor(scope, cursor)
