"""Link tokens: re-displayable to the clinician, yet never stored.

token = base64url(invitation id (16 bytes) || HMAC-SHA256(key, id | link version)[:20])

The table holds only the id and the link version, so a dump of it cannot forge a link
(160 bits of MAC under a key kept in Secrets Manager). Replacing the link is bumping the
version; checking one is a constant-time comparison against the current version's MAC.
Cursors are signed with a key derived from the same secret, bound to the clinician.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from functools import cached_property

_ID_BYTES = 16
_MAC_BYTES = 20


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Keys are derived from the secret on first use, so a function that never signs anything
    (patients) never fetches it."""

    def __init__(self, secret: bytes | Callable[[], bytes]) -> None:
        self._secret = secret

    @cached_property
    def _link_key(self) -> bytes:
        return self._derive(b"invitation-link")

    @cached_property
    def _cursor_key(self) -> bytes:
        return self._derive(b"list-cursor")

    def _derive(self, purpose: bytes) -> bytes:
        secret = self._secret() if callable(self._secret) else self._secret
        return hmac.new(secret, purpose, hashlib.sha256).digest()

    def _link_mac(self, invitation_id: str, version: int) -> bytes:
        message = f"{invitation_id}|{version}".encode()
        return hmac.digest(self._link_key, message, "sha256")[:_MAC_BYTES]  # one call: a page signs 20

    def link_token(self, invitation_id: str, version: int) -> str:
        return _b64(bytes.fromhex(invitation_id) + self._link_mac(invitation_id, version))

    @staticmethod
    def invitation_id_of(token: str) -> str | None:
        """The invitation a token claims to open (unverified), or None if it is not a token."""
        if len(token) > 64:
            return None
        try:
            raw = _unb64(token)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _ID_BYTES + _MAC_BYTES:
            return None
        return raw[:_ID_BYTES].hex()

    def verify(self, token: str, invitation_id: str, version: int) -> bool:
        expected = self.link_token(invitation_id, version)
        return hmac.compare_digest(expected.encode(), token.encode())

    def sign_cursor(self, scope: str, position: dict[str, str]) -> str:
        payload = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._cursor_key, scope.encode() + b"\0" + payload, hashlib.sha256).digest()[:16]
        return _b64(mac + payload)

    def open_cursor(self, scope: str, cursor: str) -> dict[str, str] | None:
        """The position a cursor carries, or None if it was not issued for this scope."""
        try:
            raw = _unb64(cursor)
        except (binascii.Error, ValueError):
            return None
        mac, payload = raw[:16], raw[16:]
        expected = hmac.new(self._cursor_key, scope.encode() + b"\0" + payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(mac, expected):
            return None
        try:
            position = json.loads(payload)
        except ValueError:
            return None
        if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
            return None
        return position


class SignedLinks:
    """The Links port: `<base url>/i/<token>`, the token derived again on every read."""

    def __init__(self, signer: TokenSigner, base_url: str) -> None:
        self._signer = signer
        self._base_url = base_url.rstrip("/")

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
