"""The patient data the tests use, so that the suite can prove none of it reaches a log line."""

import re

SENSITIVE: set[str] = set()


def remember(*values: object) -> None:
    for value in values:
        if isinstance(value, str) and len(value) >= 4:
            SENSITIVE.add(value)


def remember_payload(payload: object) -> None:
    """Names, contacts and links found anywhere in a request or response body."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in {"first_name", "last_name", "email", "phone", "link", "to"}:
                remember(value)
                if key == "link" and isinstance(value, str):
                    remember(value.rsplit("/", 1)[-1])
            else:
                remember_payload(value)
    elif isinstance(payload, list):
        for item in payload:
            remember_payload(item)


def leaks(log_text: str, values: set[str]) -> set[str]:
    """Values found as whole words (so 'Anne' is not found inside 'channel'), in any case."""
    folded = log_text.casefold()
    return {v for v in values if re.search(rf"(?<!\w){re.escape(v.casefold())}(?!\w)", folded)}
