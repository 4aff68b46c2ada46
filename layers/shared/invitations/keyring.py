"""The link key ring, kept in Secrets Manager (JSON), and the rotation that keeps outstanding links
working until they expire:

    {"current": 1, "k1": "<key>", "k0": "<key>", "retired": {"0": "2026-02-18T09:00:00Z"}, "stable": "<key>"}

`current` is the key that signs; every `k<id>` (id 0..255) verifies; `retired` says when each
previous key stopped signing, so that the rotation (`rotate_ring`, run by the function
rotate_link_keys) drops it once everything it signed has expired; `stable` (set by the first
rotation to the first key) never rotates: `stable_secret` for what must not change. Each key is at
least 32 characters; k_link and k_cursor are derived from it (HMAC-SHA256 with the purpose). A
secret that is not a JSON object (tests, bench) is a ring of one key, id 0. What the keys sign:
tokens.py.
"""

import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

MAX_KEY_ID = 255
MIN_KEY_CHARS = 32
# How long a container keeps the ring it read: it sees a rotation within this time.
RING_LIFETIME_SECONDS = 300.0
# After a failed read, the ring already held keeps serving, and is read again this much later.
_RETRY_SECONDS = 30.0


class InvalidKeyRing(ValueError):
    """The secret is not a usable key ring (what the rotation's testSecret step refuses)."""


@dataclass(frozen=True)
class _Keys:
    """The keys derived from one secret: one for links, one for list cursors."""

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
