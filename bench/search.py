"""Search cost: items read (ReturnConsumedCapacity / ScannedCount, as the repository's Usage counts
them) by a name search that returns 3 matches, for one clinician with 100, 1,000 and 10,000
invitations. The same table grows between sizes (batch writes of the service's own items)."""

import json
from datetime import timedelta
from typing import Any

from bench import stack
from bench.report import Row, check, say
from bench.stack import Stack, api_event, invitation_item, invitation_key, invoke, name_items, new_invitation

SIZES = (100, 1_000, 10_000)
TABLE = "invitations-bench-search"
CLINICIAN = "clinician-bench-search"
LIMIT = 20  # the page size of events/list_invites.json
# The 3 matches: every one has a word starting with "zan" and one starting with "jean".
MATCHES = (("Jean", "Zanetti"), ("Jeanne", "Zanetti"), ("Jean-Marc", "Zanetti"))
# The rest of the clinician's patients: no word starts with "zan"; one in 8 is a "Jean".
FIRST = ("Jean", "Marie", "Louis", "Camille", "Hugo", "Léa", "Paul", "Hélène")
LAST = ("Dupont-Durand", "Martin", "Bernard", "Petit", "Moreau", "Lefèvre", "Garcia", "Roux", "Fontaine")
QUERIES = (
    ("zan", "one word"),
    ("jean zan", "two words, the longer one common"),
)


def _seed(client: Any, count: int, offset: int) -> None:
    start = stack.now() - timedelta(days=1)
    invitations = [
        new_invitation(
            CLINICIAN, FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)], start + timedelta(milliseconds=i)
        )
        for i in range(offset, offset + count)
    ]
    items = [invitation_item(inv) for inv in invitations] + [i for inv in invitations for i in name_items(inv)]
    stack.seed(client, TABLE, items)


def _minimum_units(bench_stack: Stack, prefix: str, ids: list[str]) -> float:
    """The route's minimum: the matching index entries (one Query), then the matches themselves
    (one BatchGetItem, strongly consistent as GET is: each carries its current link)."""
    client = bench_stack.client
    with bench_stack.meter.measure() as bill:
        client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"NAME#{CLINICIAN}"}, ":prefix": {"S": prefix}},
            ReturnConsumedCapacity="TOTAL",
        )
        keys = [invitation_key(i) for i in ids]
        client.batch_get_item(
            RequestItems={TABLE: {"Keys": keys, "ConsistentRead": True}}, ReturnConsumedCapacity="TOTAL"
        )
    return float(bill.units)


def run(bench_stack: Stack) -> list[Row]:
    bench_stack.use_table(TABLE)
    client = bench_stack.client
    start = stack.now() - timedelta(days=2)
    matches = [new_invitation(CLINICIAN, f, last, start + timedelta(hours=i)) for i, (f, last) in enumerate(MATCHES)]
    stack.seed(client, TABLE, [invitation_item(m) for m in matches] + [i for m in matches for i in name_items(m)])
    read: dict[str, list[int]] = {q: [] for q, _ in QUERIES}
    units: dict[str, list[float]] = {q: [] for q, _ in QUERIES}
    seeded = len(matches)
    for size in SIZES:
        say(f"  {size} invitations")
        _seed(client, size - seeded, seeded)
        seeded = size
        for q, _ in QUERIES:
            event = api_event(
                "list_invites", "GET", "/invitations", clinician=CLINICIAN, query={"q": q, "limit": str(LIMIT)}
            )
            answer, bill = invoke(bench_stack, "list_invites", event)
            found = json.loads(answer["body"])["items"]
            if answer["statusCode"] != 200 or len(found) != len(MATCHES):
                raise RuntimeError(f"search {q!r}: {answer['statusCode']}, {len(found)} found")
            read[q].append(bill.reported.items_read)
            units[q].append(bill.units)
    bound = len(MATCHES) + LIMIT
    rows = []
    for q, what in QUERIES:
        flat = all(n <= bound for n in read[q])
        rows.append(
            Row(
                "search cost",
                f"q={q!r} ({what}), 3 matches",
                " / ".join(str(n) for n in read[q]) + " items",
                f"<= {bound} at every size",
                check(flat),
                f"items read with {' / '.join(f'{s:,}' for s in SIZES)} invitations; capacity "
                + " / ".join(f"{u:g}" for u in units[q])
                + " units",
                {"sizes": list(SIZES), "items_read": read[q], "billed_units": units[q], "bound": bound},
            )
        )
    # The one-word search, as a route of the capacity table (same data, largest size).
    used = units["zan"][-1]
    minimum = _minimum_units(bench_stack, "zan", [m.id for m in matches])
    rows.append(
        Row(
            "capacity",
            "search  (GET /invitations?q=zan)",
            f"{used / minimum:.2f}x",
            "<= 1.0x",
            check(used <= minimum),
            f"{used:g} vs minimum {minimum:g} units: Query(name index, prefix), BatchGetItem(the matches, consistent)",
            {"ratio": used / minimum, "units": used, "minimum_units": minimum},
        )
    )
    return rows
