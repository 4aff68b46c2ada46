"""The read side of the clinician's list: browse newest sent first, filter by status, search by
name, page with signed cursors. It reads indexes (eventually consistent) and never writes."""

from dataclasses import dataclass
from datetime import datetime

from invitations.domain.errors import InvalidCursor
from invitations.domain.invitation import DeliveryStatus, Invitation, Status, sent_key
from invitations.text import matches, words
from invitations.use_cases.base import Clinician, Services


@dataclass(frozen=True)
class Page:
    """One page of a clinician's invitations, with the moment their statuses were read at."""

    items: list[Invitation]
    next_cursor: str | None
    now: datetime  # the moment the statuses were read at


def list_page(
    services: Services,
    clinician: Clinician,
    q: str | None,
    status: Status | None,
    limit: int,
    cursor: str | None,
    delivery: DeliveryStatus | None = None,
) -> Page:
    now = services.clock.now()
    # A cursor only continues its own listing.
    scope = f"{clinician.id}\0{q or ''}\0{status or ''}" + (f"\0{delivery}" if delivery else "")
    before = None
    if cursor:
        position = services.cursors.open(scope, cursor)
        if position is None or "before" not in position:
            raise InvalidCursor()
        before = position["before"]
    query_words = words(q or "")
    if query_words:
        found = _search(services, clinician, query_words, status, before, limit + 1, now, delivery)
    elif q and q.strip():
        found = []  # '-' or '!!': no word of any name can start with it
    else:
        found = _browse(services, clinician, status, before, limit + 1, now, delivery)
    page = found[:limit]
    next_cursor = services.cursors.sign(scope, {"before": sent_key(page[-1])}) if len(found) > limit else None
    return Page(page, next_cursor, now)


def _browse(
    services: Services,
    clinician: Clinician,
    status: Status | None,
    before: str | None,
    n: int,
    now: datetime,
    delivery: DeliveryStatus | None = None,
) -> list[Invitation]:
    queries = services.queries
    if status is None:
        return queries.list_invitations(clinician.id, None, before, n, delivery=delivery)
    if status == "pending":
        return queries.list_invitations(clinician.id, "pending", before, n, live_at=now, delivery=delivery)
    if status == "accepted":
        return queries.list_invitations(clinician.id, "accepted", before, n, delivery=delivery)
    # Expired = stored as expired, plus pending ones past expiry that no job has flipped yet.
    merged = queries.list_invitations(clinician.id, "expired", before, n, delivery=delivery) + queries.list_invitations(
        clinician.id, "pending", before, n, expired_by=now, delivery=delivery
    )
    return sorted(merged, key=sent_key, reverse=True)[:n]


def _search(
    services: Services,
    clinician: Clinician,
    query_words: list[str],
    status: Status | None,
    before: str | None,
    n: int,
    now: datetime,
    delivery: DeliveryStatus | None = None,
) -> list[Invitation]:
    """Reads the index entries that match the most selective word, then only the invitations of
    the page: cost follows the matches, not the clinician's history."""
    hits = services.queries.search_names(clinician.id, query_words)
    ordered = sorted(((key, inv_id) for inv_id, key in hits.items() if before is None or key < before), reverse=True)
    found: list[Invitation] = []
    for start in range(0, len(ordered), n):
        batch = services.queries.get_invitations([inv_id for _, inv_id in ordered[start : start + n]])
        for inv in sorted(batch, key=sent_key, reverse=True):
            # Defence in depth: the index is the clinician's, but each invitation is checked too.
            if inv.clinician_id != clinician.id or inv.stored_status == "deleted":
                continue
            if not matches(query_words, set(words(inv.first_name)) | set(words(inv.last_name))):
                continue
            if status is not None and inv.status_at(now) != status:
                continue
            if delivery is not None and inv.delivery.status != delivery:
                continue
            found.append(inv)
        if len(found) >= n:
            break
    return found[:n]
