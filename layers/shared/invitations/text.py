"""Text rules: what a name may contain, the cleaning of a display name, and the normalisation
for search (case- and accent-insensitive words)."""

import re
import unicodedata

# Characters that change how text is displayed without being seen: bidi embeddings, overrides and
# isolates (display spoofing), and the zero-width ones.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case without accents: 'Hélène' -> 'helene'."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The searchable words of a name: 'DUPONT-Durand' -> ['dupont', 'durand']."""
    return _WORD.findall(fold(text))


def name_words(first_name: str, last_name: str) -> set[str]:
    return set(words(first_name)) | set(words(last_name))


def matches(query_words: list[str], candidate_words: set[str]) -> bool:
    """Every query word starts some word of the name."""
    return all(any(w.startswith(q) for w in candidate_words) for q in query_words)


def unsafe_characters(text: str) -> str | None:
    """Why a name cannot be shown as typed (None: it can): control characters, bidi controls, or
    nothing visible at all."""
    if any(unicodedata.category(c) == "Cc" for c in text):
        return "must not contain control characters"
    if any(c in BIDI_CONTROLS for c in text):
        return "must not contain text-direction controls"
    if not any(c not in ZERO_WIDTH and not c.isspace() for c in text):
        return "must contain visible characters"
    return None


def display_name(text: str, limit: int = 100) -> str:
    """A display name as it may appear in a header, a message or a page: control, bidi and
    zero-width characters removed, white space (new lines too) folded to single spaces, cut."""
    kept = "".join(
        " " if c.isspace() else c
        for c in text
        if c.isspace() or (unicodedata.category(c) != "Cc" and c not in BIDI_CONTROLS and c not in ZERO_WIDTH)
    )
    return " ".join(kept.split())[:limit].strip()
