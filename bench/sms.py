"""The invitation SMS in fr and en: a 30-character clinician name with a 30-character base URL
(target: the whole name in one segment) and a 40-character name with the bench's base URL
(target: one segment). Characters and segments are counted here independently of the service
(GSM 03.38 basic and extension tables)."""

import math
import secrets
from datetime import timedelta

from bench.report import Row, check
from bench.stack import LINK_SECRET, PUBLIC_BASE_URL, now

# A real-looking 40-character name, with letters outside GSM-7 (ç, ô, ï) that must be transliterated.
CLINICIAN = "Dr Françoise-Anaïs Lefèvre-Côte du Parcq"
assert len(CLINICIAN) == 40
# 30 characters, also with letters to transliterate (ç, ï, ô), and a 30-character base URL.
CLINICIAN_30 = "Dr François-Anaïs Côte-Lefèvre"
BASE_URL_30 = "https://rdv.cabinet-lyon.fr/ab"
assert len(CLINICIAN_30) == 30 and len(BASE_URL_30) == 30

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
    from invitations.tokens import TokenSigner

    token = TokenSigner(LINK_SECRET).link_token(secrets.token_hex(16), 1)
    return [
        *_rows(CLINICIAN_30, f"{BASE_URL_30}/i/{token}", BASE_URL_30, whole_name_needed=True),
        *_rows(CLINICIAN, f"{PUBLIC_BASE_URL}/i/{token}", PUBLIC_BASE_URL, whole_name_needed=False),
    ]


def _rows(clinician: str, link: str, base_url: str, whole_name_needed: bool) -> list[Row]:
    from invitations import messages

    expires_at = now() + timedelta(days=14)
    rows = []
    for locale in ("fr", "en"):
        text = messages.invitation_sms(clinician, link, expires_at, locale)
        encoding, units, count = segments(text)
        name_kept = text.split(" vous invite" if locale == "fr" else " invites you")[0]
        full_name = messages.to_gsm7(clinician)
        whole = name_kept == full_name
        dated = (" valable au " if locale == "fr" else " until ") in text
        # What the whole name would need: shows how much room the link and the wording leave.
        needed = units - len(name_kept) + len(full_name)
        room = f"{160 - units} characters to spare" if whole else f"the whole name would need {needed}"
        rows.append(
            Row(
                "SMS",
                f"{locale}, {len(clinician)}-character clinician name, {len(base_url)}-character base URL",
                f"{count} segment{'s' if count > 1 else ''}" + (", name whole" if whole else ""),
                "1 segment, name whole" if whole_name_needed else "1 segment",
                check(count == 1 and (whole or not whole_name_needed)),
                f"{encoding}, {units}/160 characters; name {'kept whole' if whole else 'shortened'}: "
                f"{len(name_kept)}/{len(full_name)} characters ({room}); {'with' if dated else 'without'} the date; "
                f"link {len(link)} characters",
                {
                    "text": text.replace(link, "<link>"),
                    "units": units,
                    "encoding": encoding,
                    "segments": count,
                    "name_kept": name_kept,
                    "name_whole": whole,
                    "dated": dated,
                    "whole_name_needs": needed,
                    "link_length": len(link),
                    "base_url": base_url,
                },
            )
        )
    return rows
