"""Ids: 128 random bits, hex. Opaque and unguessable (a link token embeds the invitation's)."""

import secrets


def new_id() -> str:
    return secrets.token_hex(16)


def is_id(text: str) -> bool:
    """The shape of every id `new_id` makes: anything else cannot name an invitation or patient."""
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)
