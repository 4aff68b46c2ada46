"""Expiry scaling: the expire_invites handler with 1,000 overdue invitations among 1,000, 10,000 and
100,000 (seeded with batch writes of the service's own items). The table grows between runs: each
stage adds not-yet-due pending invitations (they sit in the sparse Due index too, so a query
that read past the overdue ones would show), accepted and expired ones, and 1,000 new overdue."""

import json
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bench import stack
from bench.report import Row, check, say
from bench.stack import EVENTS_DIR, Stack, invitation_item, invoke, new_invitation

SIZES = (1_000, 10_000, 100_000)
OVERDUE = 1_000
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


def run(bench_stack: Stack) -> list[Row]:
    event = json.loads((EVENTS_DIR / "expire_invites.json").read_text())
    # An untimed run on a table of its own first: DynamoDB Local's JIT warms up on the same work,
    # so that the first measured size is not slower for that reason alone.
    bench_stack.use_table(TABLE + "-warmup")
    stack.seed(bench_stack.client, TABLE + "-warmup", [_overdue(i, stack.now()) for i in range(OVERDUE)])
    invoke(bench_stack, "expire_invites", event)
    bench_stack.use_table(TABLE)
    client = bench_stack.client
    seeded = 0
    results: list[dict[str, Any]] = []
    for size in SIZES:
        now = stack.now()
        fillers = size - seeded - OVERDUE
        say(f"  {size:,} invitations: seeding {fillers:,} + {OVERDUE:,} overdue")
        began = time.monotonic()
        stack.seed(client, TABLE, [_filler(seeded + i, now) for i in range(fillers)])
        stack.seed(client, TABLE, [_overdue(i, now) for i in range(OVERDUE)])
        seeded = size
        seeding = time.monotonic() - began
        started = time.perf_counter()
        answer, usage = invoke(bench_stack, "expire_invites", event)
        wall = time.perf_counter() - started
        if answer != {"expired": OVERDUE, "complete": True}:
            raise RuntimeError(f"expire_invites answered {answer}")
        results.append(
            {
                "size": size,
                "expired": answer["expired"],
                "items_read": usage.items_read,
                "capacity_units": usage.capacity_units,
                "billed_units": usage.billed_units,
                "wall_seconds": round(wall, 3),
                "seeding_seconds": round(seeding, 1),
            }
        )
    base_wall = results[0]["wall_seconds"]
    rows = []
    for r in results:
        ratio = r["items_read"] / r["expired"]
        rows.append(
            Row(
                "expiry scaling",
                f"{OVERDUE:,} overdue among {r['size']:,}",
                f"{ratio:.2f}x",
                f"<= {TARGET}x, flat",
                check(ratio <= TARGET),
                f"{r['items_read']:,} items read for {r['expired']:,} expired; {r['wall_seconds']:.2f} s "
                f"({r['wall_seconds'] / base_wall:.2f}x the {SIZES[0]:,} run); {r['billed_units']:g} units billed",
                {**r, "ratio": ratio, "wall_vs_smallest": r["wall_seconds"] / base_wall},
            )
        )
    return rows
