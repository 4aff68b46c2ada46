"""Link tokens and list cursors: re-displayable to the clinician, yet never stored, signed by a
key ring that rotates.

token  = base64url(key id (1 byte) || invitation id (16 bytes) || HMAC-SHA256(k_link, "<id>|<version>")[:16])
         44 characters, no padding (33 bytes: no two strings decode to the same token)
cursor = base64url(key id (1 byte) || HMAC-SHA256(k_cursor, scope NUL payload)[:16] || payload)

The table holds only the id and the link version, so a dump of it cannot forge a link: the
128 bits of MAC are under a key kept in Secrets Manager. Replacing the link is bumping the
version; checking one is a constant-time comparison against the current version's MAC under the
key the token names. The key ring (JSON, in Secrets Manager):

    {"current": 1, "k1": "<key>", "k0": "<key>", "retired": {"0": "2026-02-18T09:00:00Z"}, "stable": "<key>"}

`current` is the key that signs; every `k<id>` (id 0..255) verifies; `retired` says when each
previous key stopped signing, so that the rotation (`rotate_ring`, run by the function
rotate_link_keys) drops it once everything it signed has expired; `stable` (set by the first
rotation to the first key) never rotates: `stable_secret` for what must not change. Each key is at least 32
characters; k_link and k_cursor are derived from it (HMAC-SHA256 with the purpose). A secret that
is not a JSON object (tests, bench) is a ring of one key, id 0.
"""

import base64
import binascii
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

_KID_BYTES = 1
_ID_BYTES = 16
_MAC_BYTES = 16  # 128 bits an attacker cannot guess
TOKEN_LENGTH = 44  # base64url of 33 bytes
_TOKEN = re.compile(r"[A-Za-z0-9_-]{44}")
MAX_KEY_ID = 255
MIN_KEY_CHARS = 32
# How long a container keeps the ring it read: it sees a rotation within this time.
RING_LIFETIME_SECONDS = 300.0
# After a failed read, the ring already held keeps serving, and is read again this much later.
_RETRY_SECONDS = 30.0


class InvalidKeyRing(ValueError):
    """The secret is not a usable key ring (what the rotation's testSecret step refuses)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class _Keys:
    link: bytes
    cursor: bytes


def _derive(secret: bytes) -> _Keys:
    return _Keys(
        link=hmac.digest(secret, b"invitation-link", "sha256"),
        cursor=hmac.digest(secret, b"list-cursor", "sha256"),
    )


def ring_document(secret: bytes | str) -> tuple[dict[str, Any], bool]:
    """The ring's JSON object, and whether the secret was one: a secret that is not a JSON object
    is a ring of its one key, id 0."""
    text = secret.decode() if isinstance(secret, bytes) else secret
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return {"current": 0, "k0": text}, False
    return document, True


def stable_secret(secret: bytes | str) -> bytes:
    """Key material that never rotates, for what must stay the same across rotations (e.g.
    pseudonyms): the ring's `stable` entry, which the first rotation sets to the first ring's
    current key (so nothing derived from it changes); a plain secret is its own."""
    document, is_ring = ring_document(secret)
    if not is_ring:
        return secret if isinstance(secret, bytes) else secret.encode()
    value = document.get("stable") or document.get(f"k{document.get('current')}")
    if not isinstance(value, str) or len(value) < MIN_KEY_CHARS:
        raise InvalidKeyRing("the ring has no stable key")
    return value.encode()


def _key_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise InvalidKeyRing(f"not a key id: {value!r}")
    key_id = int(value)
    if key_id > MAX_KEY_ID:
        raise InvalidKeyRing(f"key id {key_id} is above {MAX_KEY_ID}")
    return key_id


def ring_keys(document: Mapping[str, Any]) -> dict[int, str]:
    """Every key of a ring document, by id."""
    return {_key_id(name[1:]): value for name, value in document.items() if re.fullmatch(r"k\d+", name)}


class KeyRing:
    """The keys that verify (by id) and the one that signs, derived once."""

    def __init__(self, current: int, secrets: Mapping[int, bytes]) -> None:
        if current not in secrets:
            raise InvalidKeyRing(f"the current key {current} is not in the ring")
        self.current = current
        self._keys = {key_id: _derive(secret) for key_id, secret in secrets.items()}

    @classmethod
    def parse(cls, secret: bytes | str) -> "KeyRing":
        document, is_ring = ring_document(secret)
        keys = ring_keys(document)
        for key_id, value in keys.items():
            if not isinstance(value, str) or (is_ring and len(value) < MIN_KEY_CHARS):
                raise InvalidKeyRing(f"key {key_id} is not a string of at least {MIN_KEY_CHARS} characters")
        return cls(_key_id(document.get("current")), {key_id: value.encode() for key_id, value in keys.items()})

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(self._keys)

    def keys(self, key_id: int) -> _Keys | None:
        return self._keys.get(key_id)

    @property
    def signing(self) -> _Keys:
        return self._keys[self.current]


def rotate_ring(secret: bytes | str, new_key: str, now: datetime, keep_for: timedelta) -> str:
    """The next ring: `new_key` signs under a fresh id, the previous current key is retired now,
    and every key retired longer than `keep_for` ago is dropped (nothing it signed is still valid)."""
    if len(new_key) < MIN_KEY_CHARS:
        raise InvalidKeyRing(f"a new key needs at least {MIN_KEY_CHARS} characters")
    document, _ = ring_document(secret)
    current = _key_id(document.get("current"))
    keys = ring_keys(document)
    retired = {_key_id(k): datetime.fromisoformat(v) for k, v in (document.get("retired") or {}).items()}
    for key_id in keys:
        if key_id != current:
            retired.setdefault(key_id, now)  # a key of unknown age: kept for keep_for from now
    retired[current] = now
    for key_id, since in list(retired.items()):
        if key_id not in keys or now - since > keep_for:
            keys.pop(key_id, None)
            retired.pop(key_id)
    free = [(current + step) % (MAX_KEY_ID + 1) for step in range(1, MAX_KEY_ID + 1)]
    free = [key_id for key_id in free if key_id not in keys]
    if not free:  # 256 keys within keep_for: the oldest goes
        oldest = min(retired, key=lambda key_id: retired[key_id])
        keys.pop(oldest)
        retired.pop(oldest)
        free = [oldest]
    new_id = free[0]
    out: dict[str, Any] = {"current": new_id, f"k{new_id}": new_key, "stable": stable_secret(secret).decode()}
    out.update({f"k{key_id}": keys[key_id] for key_id in sorted(keys, key=lambda k: retired[k], reverse=True)})
    out["retired"] = {str(key_id): since.isoformat() for key_id, since in sorted(retired.items())}
    return json.dumps(out)


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class Expiring[T]:
    """`fetch()`'s value, kept `lifetime` seconds, then fetched again (thread-safe). Like
    functools.lru_cache: `cache_clear()`, `cache_info()`. A failed fetch raises if nothing is
    held; else the value held keeps serving and the fetch is tried again `_RETRY_SECONDS` later."""

    def __init__(
        self,
        fetch: Callable[[], T],
        lifetime: float = RING_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._until = 0.0
        self._hits = self._misses = 0

    def __call__(self) -> T:
        with self._lock:
            now = self._clock()
            if self._value is not None and now < self._until:
                self._hits += 1
                return self._value
            self._misses += 1
            try:
                self._value = self._fetch()
            except Exception:
                if self._value is None:
                    raise
                self._until = now + min(self._lifetime, _RETRY_SECONDS)
                return self._value
            self._until = now + self._lifetime
            return self._value

    def cache_clear(self) -> None:
        with self._lock:
            self._value = None
            self._until = 0.0
            self._hits = self._misses = 0

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self._hits, self._misses, 1, 0 if self._value is None else 1)


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
