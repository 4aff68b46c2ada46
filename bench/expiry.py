"""Expiry and reminder sweep scaling: the expire_invites handler with 1,000 overdue invitations
among 1,000, 10,000 and 100,000 (seeded with batch writes of the service's own items), then the
remind_invites handler with 1,000 reminders due on the same table. The table grows between runs:
each stage adds not-yet-due pending invitations (they sit in the sparse Due and Remind indexes
too, so a query that read past the due ones would show), accepted and expired ones, and 1,000 new
overdue; once expired, those make way for the 1,000 whose reminder is due (the same keys: the
table keeps its size, and the seeding of 100,000 serves both)."""

import json
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bench import stack
from bench.report import Row, check, say
from bench.stack import EVENTS_DIR, Stack, invitation_item, invoke, new_invitation, quota_item

SIZES = (1_000, 10_000, 100_000)
OVERDUE = 1_000
REMINDERS = OVERDUE  # due at each size: they take the places of the overdue once expired
# The least a reminder reads: its entry in the Remind index (the invitation itself) and its
# clinician's day counter (a reminder counts in it).
ITEMS_PER_REMINDER = 2
TARGET = 1.1
TABLE = "invitations-bench-expiry"
CLINICIANS = 50


def _filler(i: int, now: Any) -> dict[str, Any]:
    """80% pending and not due yet, 10% accepted, 10% already expired."""
    inv = new_invitation(f"clinician-{i % CLINICIANS:03d}", "Camille", "Martin", now - timedelta(days=1, seconds=i))
    kind = i % 10
    if kind == 8:
        inv = replace(inv, stored_status="accepted", accepted_at=now, patient_id=f"{i:032x}")
    elif kind == 9:
        sent = now - timedelta(days=30, seconds=i)
        inv = replace(inv, stored_status="expired", sent_at=sent, created_at=sent, expires_at=sent + timedelta(days=14))
    return invitation_item(inv)


def _overdue(i: int, now: Any) -> dict[str, Any]:
    # Sent 15 days ago with the template's 14 days of validity: overdue by about a day.
    return invitation_item(new_invitation(f"clinician-{i % CLINICIANS:03d}", "Hugo", "Petit", now - timedelta(days=15)))


def _reminder_due(invitation_id: str, i: int, now: Any) -> dict[str, Any]:
    due = stack.reminder_due(f"clinician-{i % CLINICIANS:03d}", "Léa", "Moreau", now)
    return invitation_item(replace(due, id=invitation_id))


def _measured(answer: Any, bill: Any, wall: float, size: int, seeding: float) -> dict[str, Any]:
    return {
        "size": size,
        **answer,
        "items_read": bill.reported.items_read,
        "capacity_units": bill.reported.capacity_units,
        "billed_units": bill.units,
        # Pricing reads every item a write touches, before and after it: the bench's time.
        "wall_seconds": round(wall - bill.seconds, 3),
        "seeding_seconds": round(seeding, 1),
    }


def run(bench_stack: Stack) -> list[Row]:
    event = json.loads((EVENTS_DIR / "expire_invites.json").read_text())
    remind_event = json.loads((EVENTS_DIR / "remind_invites.json").read_text())
    # An untimed run on a table of its own first: DynamoDB Local's JIT warms up on the same work,
    # so that the first measured size is not slower for that reason alone.
    bench_stack.use_table(TABLE + "-warmup")
    stack.seed(bench_stack.client, TABLE + "-warmup", [_overdue(i, stack.now()) for i in range(OVERDUE)])
    invoke(bench_stack, "expire_invites", event, priced=False)
    rules = bench_stack.use_table(TABLE).rules
    client = bench_stack.client
    # Each clinician has sent today: every reminder reads a counter that exists (the least it can read).
    counters = [stack.day_counter(f"clinician-{c:03d}", rules, stack.now()) for c in range(CLINICIANS)]
    stack.seed(client, TABLE, [quota_item(counter) for counter in counters])
    seeded = 0
    results: list[dict[str, Any]] = []
    reminders: list[dict[str, Any]] = []
    for size in SIZES:
        now = stack.now()
        fillers = size - seeded - OVERDUE
        say(f"  {size:,} invitations: seeding {fillers:,} + {OVERDUE:,} overdue")
        began = time.monotonic()
        stack.seed(client, TABLE, [_filler(seeded + i, now) for i in range(fillers)])
        overdue = [_overdue(i, now) for i in range(OVERDUE)]
        stack.seed(client, TABLE, overdue)
        seeded = size
        seeding = time.monotonic() - began
        started = time.perf_counter()
        answer, bill = invoke(bench_stack, "expire_invites", event)
        wall = time.perf_counter() - started
        if answer != {"expired": OVERDUE, "complete": True}:
            raise RuntimeError(f"expire_invites answered {answer}")
        results.append(_measured(answer, bill, wall, size, seeding))

        say(f"  {size:,} invitations: {REMINDERS:,} expired make way for as many reminders due")
        began, now = time.monotonic(), stack.now()
        ids = [item["pk"]["S"].removeprefix("INV#") for item in overdue[:REMINDERS]]
        stack.seed(client, TABLE, [_reminder_due(invitation_id, i, now) for i, invitation_id in enumerate(ids)])
        seeding = time.monotonic() - began
        started = time.perf_counter()
        answer, bill = invoke(bench_stack, "remind_invites", remind_event)
        wall = time.perf_counter() - started
        if answer != {"reminded": REMINDERS}:
            raise RuntimeError(f"remind_invites answered {answer}")
        reminders.append(_measured(answer, bill, wall, size, seeding))
    return _rows(results, "expired", 1, "expiry scaling", "overdue") + _rows(
        reminders, "reminded", ITEMS_PER_REMINDER, "reminder scaling", "reminders due"
    )


def _rows(results: list[dict[str, Any]], done: str, least: int, figure: str, due: str) -> list[Row]:
    """Items read against the `least` each invitation handled (`done`) needs, at each size; the
    wall time against the smallest size's."""
    base_wall = results[0]["wall_seconds"]
    rows = []
    for r in results:
        ratio = r["items_read"] / (least * r[done])
        per = f", at least {least} each (index entry, counter)" if least > 1 else ""
        rows.append(
            Row(
                figure,
                f"{r[done]:,} {due} among {r['size']:,}",
                f"{ratio:.2f}x",
                f"<= {TARGET}x, flat",
                check(ratio <= TARGET),
                f"{r['items_read']:,} items read for {r[done]:,} {done}{per}; {r['wall_seconds']:.2f} s "
                f"({r['wall_seconds'] / base_wall:.2f}x the {SIZES[0]:,} run); {r['billed_units']:g} units billed "
                f"(DynamoDB Local reports {r['capacity_units']:g})",
                {**r, "ratio": ratio, "wall_vs_smallest": r["wall_seconds"] / base_wall},
            )
        )
    return rows
