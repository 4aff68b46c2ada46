"""The name index: one small item per word of the patient's names, under the clinician,
NAME#<clinician> / <word>#<invitation id>, carrying the invitation's sent key. A search reads
the entries starting with a prefix, then only the invitations of the page."""

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from invitations.adapters.dynamo.codec import dump
from invitations.adapters.dynamo.items import retention_ttl
from invitations.adapters.dynamo.table import Table
from invitations.domain.invitation import Invitation, sent_key
from invitations.text import name_words

MAX_INDEXED_WORDS = 16  # keeps every transaction far below DynamoDB's 100-item limit


def indexed_words(invitation: Invitation) -> set[str]:
    if invitation.stored_status == "deleted":
        return set()
    return set(sorted(name_words(invitation.first_name, invitation.last_name))[:MAX_INDEXED_WORDS])


def _key(inv: Invitation, word: str) -> dict[str, Any]:
    return dump({"pk": f"NAME#{inv.clinician_id}", "sk": f"{word}#{inv.id}"})


def entry(inv: Invitation, word: str, retention: timedelta) -> dict[str, Any]:
    # An expired invitation's name entries go with it: no fragment of a name outlives it (a
    # deleted one has none left).
    ttl = retention_ttl(inv, retention)
    return dump(
        {
            "pk": f"NAME#{inv.clinician_id}",
            "sk": f"{word}#{inv.id}",
            "invitation_id": inv.id,
            "sent_key": sent_key(inv),
            "ttl": ttl,
        }
    )


def changes(new: Invitation, previous: Invitation | None, retention: timedelta) -> list[dict[str, Any]]:
    """The writes that keep the index in step with `new` (after `previous`, if stored)."""
    old_words = indexed_words(previous) if previous else set()
    new_words = indexed_words(new)
    # Every entry is written again when what it carries changes: the sent time, or the TTL.
    moved = previous is not None and (
        sent_key(previous) != sent_key(new) or (previous.stored_status == "expired") != (new.stored_status == "expired")
    )
    writes: list[dict[str, Any]] = [{"Delete": {"Key": _key(new, w)}} for w in sorted(old_words - new_words)]
    writes += [
        {"Put": {"Item": entry(new, w, retention)}} for w in sorted(new_words if moved else new_words - old_words)
    ]
    return writes


def search(table: Table, clinician_id: str, prefixes: Sequence[str]) -> dict[str, str]:
    """invitation id -> its sent key, for every name word starting with the most selective of
    `prefixes` (the caller checks the other words on the invitations themselves).

    Which word is rarest is unknown until read: the words' entries are read in turn, a page at a
    time (8 entries, then doubling), and the first word whose entries run out is the one used.
    Reads stay within (number of words) x (the rarest word's entries + a page), whatever the
    clinician's history; a single word is read in pages of 1,000."""
    words = list(dict.fromkeys(prefixes))
    first_page = 1000 if len(words) == 1 else 8
    readers: dict[str, Iterator[tuple[list[dict[str, Any]], bool]]] = {
        word: table.pages(
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": dump({":pk": f"NAME#{clinician_id}", ":prefix": word}),
            },
            first_page,
            growing=True,
        )
        for word in words
    }
    found: dict[str, dict[str, str]] = {word: {} for word in words}
    while True:
        for word, reader in readers.items():
            entries, exhausted = next(reader)
            found[word].update((e["invitation_id"]["S"], e["sent_key"]["S"]) for e in entries)
            if exhausted:
                return found[word]
