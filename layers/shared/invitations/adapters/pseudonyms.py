"""The Pseudonyms port: HMAC-SHA256 under a key of the service's own, derived from the link
secret. A table dump cannot reverse it (a phone number's 10^9 values are easy to hash, not to
MAC), and the same value always gives the same pseudonym, as a key must."""

import base64
import hmac
from collections.abc import Callable
from functools import cached_property


class HmacPseudonyms:
    def __init__(self, secret: Callable[[], bytes]) -> None:
        self._secret = secret

    @cached_property
    def _key(self) -> bytes:
        return hmac.digest(self._secret(), b"recipient-pseudonyms", "sha256")

    def of(self, value: str) -> str:
        mac = hmac.digest(self._key, value.encode(), "sha256")[:18]  # 144 bits: no collision in practice
        return base64.urlsafe_b64encode(mac).decode("ascii")
