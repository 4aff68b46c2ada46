"""The invitation SMS in fr and en for a clinician with a 40-character name: characters and
segments, counted here independently of the service (GSM 03.38 basic and extension tables)."""

import math
import secrets
from datetime import timedelta

from bench.report import Row, check
from bench.stack import LINK_SECRET, PUBLIC_BASE_URL, now

# A real-looking 40-character name, with letters outside GSM-7 (ç, ô, ï) that must be transliterated.
CLINICIAN = "Dr Françoise-Anaïs Lefèvre-Côte du Parcq"
assert len(CLINICIAN) == 40

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")  # two septets each (escape + character)


def segments(text: str) -> tuple[str, int, int]:
    """(encoding, length in its units, segments) as a phone network counts them."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        septets = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        return "GSM-7", septets, 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", units, 1 if units <= 70 else math.ceil(units / 67)


def run() -> list[Row]:
    from invitations import messages
    from invitations.tokens import TokenSigner

    link = f"{PUBLIC_BASE_URL}/i/{TokenSigner(LINK_SECRET).link_token(secrets.token_hex(16), 1)}"
    expires_at = now() + timedelta(days=14)
    rows = []
    for locale in ("fr", "en"):
        text = messages.invitation_sms(CLINICIAN, link, expires_at, locale)
        encoding, units, count = segments(text)
        name_kept = text.split(" vous invite" if locale == "fr" else " invites you")[0]
        full_name = messages.to_gsm7(CLINICIAN)
        whole = name_kept == full_name
        # What the whole name would need: shows how much room the link and the wording leave.
        needed = units - len(name_kept) + len(full_name)
        room = f"{160 - units} characters to spare" if whole else f"the whole name would need {needed}"
        rows.append(
            Row(
                "SMS",
                f"{locale}, 40-character clinician name",
                f"{count} segment{'s' if count > 1 else ''}",
                "1 segment",
                check(count == 1),
                f"{encoding}, {units}/160 characters; name {'kept whole' if whole else 'shortened'}: "
                f"{len(name_kept)}/{len(full_name)} characters ({room}); link {len(link)} characters",
                {
                    "text": text.replace(link, "<link>"),
                    "units": units,
                    "encoding": encoding,
                    "segments": count,
                    "name_kept": name_kept,
                    "name_whole": whole,
                    "whole_name_needs": needed,
                    "link_length": len(link),
                    "base_url": PUBLIC_BASE_URL,
                },
            )
        )
    return rows
