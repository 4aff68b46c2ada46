"""The clinician's list at its edges: cursors and their scope, the page boundary, the status
filter in every branch (browse and search), the order of a merged listing, what a search
rechecks, and what a page costs in reads."""

from dataclasses import replace

import pytest

from invitations import read_model
from invitations.domain.errors import InvalidCursor
from invitations.domain.invitation import Contact
from invitations.use_cases import patient_link, sending
from invitations.use_cases.base import Clinician
from tests.fakes import World, as_read, world

ALICE = Clinician("clin-alice", "Dr Alice Martin")


@pytest.fixture
def w() -> World:
    return world()


def send(w: World, *names: str, clinician: Clinician = ALICE):
    sent = []
    for name in names:
        first, last = name.split()
        sent.append(
            sending.send(w.services, clinician, Contact(first, last, f"{first}.{last}@example.org".lower(), None))
        )
        w.clock.advance(minutes=1)
    return sent


def ids(w: World, q=None, status=None, limit=10, cursor=None, clinician=ALICE) -> list[str]:
    return [i.id for i in read_model.list_page(w.services, clinician, q, status, limit, cursor).items]


def accept(w: World, inv) -> None:
    patient_link.accept(w.services, w.services.links.url(inv.id, inv.link_version).rsplit("/i/", 1)[1])


def test_a_page_of_exactly_limit_items_has_no_next_cursor(w):
    send(w, "Anne Alpha", "Anne Beta")
    page = read_model.list_page(w.services, ALICE, None, None, 2, None)
    assert len(page.items) == 2 and page.next_cursor is None and page.now == w.clock.now()
    found = read_model.list_page(w.services, ALICE, "anne", None, 2, None)
    assert len(found.items) == 2 and found.next_cursor is None


def test_search_pages_with_cursors_without_repeating(w):
    a, b, c = send(w, "Anne Alpha", "Anne Beta", "Anne Gamma")
    first = read_model.list_page(w.services, ALICE, "anne", None, 2, None)
    assert [i.id for i in first.items] == [c.id, b.id] and first.next_cursor
    assert ids(w, "anne", cursor=first.next_cursor, limit=2) == [a.id]
    one = read_model.list_page(w.services, ALICE, "anne", None, 1, None)
    assert ids(w, "anne", cursor=one.next_cursor, limit=1) == [b.id]


def test_a_cursor_continues_its_own_listing_only(w):
    send(w, "Anne Alpha", "Anne Beta", "Anne Gamma")
    browse = read_model.list_page(w.services, ALICE, None, None, 1, None).next_cursor
    assert len(ids(w, "", None, 10, browse)) == 2  # no query is no query, however given
    assert len(ids(w, None, None, 10, browse)) == 2
    pending = read_model.list_page(w.services, ALICE, None, "pending", 1, None).next_cursor
    assert len(ids(w, None, as_read("pending"), 10, pending)) == 2
    with pytest.raises(InvalidCursor):
        ids(w, None, None, 10, pending)
    with pytest.raises(InvalidCursor):
        ids(w, None, "pending", 10, browse)
    scope = f"{ALICE.id}\0\0"
    with pytest.raises(InvalidCursor):  # signed for this listing, but no position in it
        ids(w, None, None, 10, w.services.cursors.sign(scope, {"after": "x"}))
    with pytest.raises(InvalidCursor):
        ids(w, None, None, 10, "not-a-cursor")


def test_a_blank_query_lists_everything_and_a_wordless_one_nothing(w):
    sent = send(w, "Anne Alpha", "Bruno Beta")
    assert ids(w, "   ") == [sent[1].id, sent[0].id] == ids(w, "")
    assert ids(w, " - ") == [] and ids(w, "!!") == []


@pytest.mark.parametrize("search", [False, True])
def test_each_status_filter_in_browse_and_search(w, search):
    """Every status as true now: a pending invitation past expiry is expired, whether or not the
    job has flipped it; the order is newest sent first in every listing."""
    old1, old2, acc, fresh1, fresh2 = send(w, "Zoe Un", "Zoe Deux", "Zoe Trois", "Zoe Quatre", "Zoe Cinq")
    accept(w, acc)
    w.clock.advance(days=14, minutes=-3, seconds=-30)  # old1, old2 and acc past expiry; fresh ones not
    stored_expired = w.store.invitations[old1.id]
    w.store.invitations[old1.id] = replace(stored_expired, stored_status="expired", rev=stored_expired.rev + 1)
    q = "zoe" if search else None
    assert ids(w, q, as_read("expired")) == [old2.id, old1.id]
    assert ids(w, q, as_read("pending")) == [fresh2.id, fresh1.id]
    assert ids(w, q, as_read("accepted")) == [acc.id]
    assert ids(w, q, None) == [fresh2.id, fresh1.id, acc.id, old2.id, old1.id]
    assert ids(w, q, "expired", limit=1) == [old2.id]


def test_expired_merges_both_kinds_newest_first(w):
    sent = send(w, "Anne A", "Anne B", "Anne C", "Anne D")
    w.clock.advance(days=15)
    for inv in sent[0::2]:  # A and C flipped by the job, B and D not yet
        stored = w.store.invitations[inv.id]
        w.store.invitations[inv.id] = replace(stored, stored_status="expired", rev=stored.rev + 1)
    assert ids(w, None, "expired") == [i.id for i in reversed(sent)]
    page = read_model.list_page(w.services, ALICE, None, "expired", 3, None)
    assert [i.id for i in page.items] == [sent[3].id, sent[2].id, sent[1].id] and page.next_cursor
    assert ids(w, None, "expired", cursor=page.next_cursor) == [sent[0].id]


def test_search_drops_what_is_not_the_clinicians_deleted_or_not_matching(w):
    """Defence in depth: the index answers more than it should; each invitation is rechecked."""
    mine, aaron, zed, gone, other = send(w, "Anne Alpha", "Anne Aaron", "Anne Zed", "Anne Gone", "Bob Other")
    store = w.store.invitations
    for inv, clinician_id in ((mine, ALICE.id), (aaron, "clin-aaron"), (zed, "clin-zed")):
        store[inv.id] = replace(store[inv.id], clinician_id=as_read(clinician_id))
    store[gone.id] = replace(store[gone.id], stored_status=as_read("deleted"))
    leaky = w.services.queries
    everything = {i.id: f"9999#{n}" for n, i in enumerate((mine, aaron, zed, gone, other))}
    leaky.search_names = lambda clinician_id, prefixes: everything  # type: ignore[method-assign]
    assert ids(w, "anne") == [mine.id]
    assert ids(w, "anne al") == [mine.id] and ids(w, "bob") == [other.id]


def test_a_page_reads_one_item_more_than_it_shows(w):
    send(w, "Anne A", "Anne B", "Anne C", "Anne D", "Anne E")
    asked, batches = [], []
    queries = w.services.queries
    listing, getting = queries.list_invitations, queries.get_invitations

    def list_invitations(clinician_id, status, before, limit, **kw):
        asked.append(limit)
        return listing(clinician_id, status, before, limit, **kw)

    def get_invitations(invitation_ids):
        batches.append(len(invitation_ids))
        return getting(invitation_ids)

    queries.list_invitations = list_invitations  # type: ignore[method-assign]
    queries.get_invitations = get_invitations  # type: ignore[method-assign]
    read_model.list_page(w.services, ALICE, None, None, 2, None)
    read_model.list_page(w.services, ALICE, None, "pending", 2, None)
    assert asked == [3, 3]
    assert len(read_model.list_page(w.services, ALICE, "anne", None, 1, None).items) == 1
    assert batches == [2]  # the first batch fills the page: no more reads
    batches.clear()
    accept(w, w.store.invitations[ids(w, "anne e")[0]])
    batches.clear()
    assert len(read_model.list_page(w.services, ALICE, "anne", "pending", 1, None).items) == 1
    assert batches == [2, 2]  # the accepted one is filtered out: one more batch


def test_a_cursor_of_one_status_does_not_continue_another(w):
    send(w, "Anne Alpha", "Anne Beta", "Anne Gamma")
    w.clock.advance(days=15)
    send(w, "Anne Delta", "Anne Epsilon")
    pending = read_model.list_page(w.services, ALICE, None, "pending", 1, None).next_cursor
    expired = read_model.list_page(w.services, ALICE, None, "expired", 1, None).next_cursor
    assert pending and expired
    with pytest.raises(InvalidCursor):
        ids(w, None, "expired", 10, pending)
    with pytest.raises(InvalidCursor):
        ids(w, None, "pending", 10, expired)


def test_a_name_whose_first_and_last_names_share_a_word_is_found(w):
    jean = send(w, "Jean Jean")[0]
    assert ids(w, "jean") == [jean.id]


def test_a_search_reads_one_batch_of_limit_plus_one(w):
    send(w, "Anne A", "Anne B", "Anne C", "Anne D", "Anne E", "Anne F")
    batches = []
    getting = w.services.queries.get_invitations

    def get_invitations(invitation_ids):
        batches.append(len(invitation_ids))
        return getting(invitation_ids)

    w.services.queries.get_invitations = get_invitations  # type: ignore[method-assign]
    page = read_model.list_page(w.services, ALICE, "anne", None, 2, None)
    assert len(page.items) == 2 and page.next_cursor and batches == [3]


def test_search_keeps_the_delivery_filter(w):
    failed, sent_one, queued = send(w, "Anne Un", "Anne Deux", "Anne Trois")  # Trois is the newest
    w.run_outbox()
    stored = w.store.invitations[failed.id]
    w.store.invitations[failed.id] = replace(stored, delivery=replace(stored.delivery, status="failed"))
    stored = w.store.invitations[queued.id]
    w.store.invitations[queued.id] = replace(stored, delivery=replace(stored.delivery, status="queued"))

    def found(delivery):
        return [i.id for i in read_model.list_page(w.services, ALICE, "anne", None, 10, None, delivery).items]

    assert found(as_read("sent")) == [sent_one.id]
    assert found(as_read("failed")) == [failed.id]
    assert found(as_read("queued")) == [queued.id]
    assert found(None) == [queued.id, sent_one.id, failed.id]


def test_a_cursor_of_one_delivery_status_does_not_continue_another(w):
    send(w, "Anne Un", "Anne Deux", "Anne Trois")
    w.run_outbox()
    sent_cursor = read_model.list_page(w.services, ALICE, None, None, 1, None, "sent").next_cursor
    assert sent_cursor
    assert len(read_model.list_page(w.services, ALICE, None, None, 10, sent_cursor, as_read("sent")).items) == 2
    for other in ("failed", None):
        with pytest.raises(InvalidCursor):
            read_model.list_page(w.services, ALICE, None, None, 10, sent_cursor, other)
