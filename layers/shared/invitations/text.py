"""Name normalisation for search: case- and accent-insensitive words."""

import re
import unicodedata

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
