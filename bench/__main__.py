"""python -m bench [--only SECTION ...]: runs every benchmark, prints one table, writes
bench/results.json (only when every section ran)."""

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from bench import report
from bench.report import Row, say
from bench.stack import Stack
from local.dynamodb_local import DynamoDBLocal

SECTIONS = ("sms", "sizes", "cold", "routes", "reports", "search", "expiry", "load", "outbox")


class _DynamoDB:
    """One DynamoDB Local for every section that needs it, started on first use."""

    def __init__(self) -> None:
        self._db: DynamoDBLocal | None = None

    def sections(self, run: Callable[[Stack], list[Row]]) -> Callable[[], list[Row]]:
        return lambda: run(Stack(self._started().endpoint))

    def _started(self) -> DynamoDBLocal:
        if self._db is None:
            say("starting DynamoDB Local ...")
            self._db = DynamoDBLocal().start()
        return self._db

    def stop(self) -> None:
        if self._db is not None:
            self._db.stop()
            self._db = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections only (no results.json)")
    parser.add_argument(
        "--burst",
        type=int,
        default=None,
        metavar="N",
        help="invitations per burst in the outbox section (default 1000; a smaller one while developing)",
    )
    args = parser.parse_args(argv)
    chosen = [s for s in SECTIONS if not args.only or s in args.only]
    # Powertools warns on every request that publishes no metric; the bench does not need to hear it.
    warnings.filterwarnings("ignore", "No application metrics to publish")

    from bench import build_size, cold, expiry, load, outbox, reports, routes, search, sms

    dynamodb = _DynamoDB()
    build_dir = Path(tempfile.mkdtemp(prefix="bench-build-"))
    built: list[Path | None] = [None]

    def sizes() -> list[Row]:
        built[0], why_not = build_size.build(build_dir)
        return build_size.rows(built[0], why_not)

    runners: dict[str, Callable[[], list[Row]]] = {
        "sms": sms.run,
        "sizes": sizes,
        # After sizes: the built layer tells which packages ship without bytecode.
        "cold": dynamodb.sections(lambda st: cold.run(st, built_layer=build_size.layer_python(built[0]))),
        "routes": dynamodb.sections(routes.run),
        "reports": dynamodb.sections(reports.run),
        "search": dynamodb.sections(search.run),
        "expiry": dynamodb.sections(expiry.run),
        "load": load.run,  # another process tree, started and stopped on its own
        "outbox": lambda: outbox.run(args.burst or outbox.BURST),  # the same, after load
    }
    started = time.monotonic()
    rows: list[Row] = []
    try:
        for section in chosen:
            say(f"[{section}]")
            section_started = time.monotonic()
            rows += runners[section]()
            say(f"[{section}] {time.monotonic() - section_started:.0f} s")
    finally:
        dynamodb.stop()
        shutil.rmtree(build_dir, ignore_errors=True)
    order = [
        "cold start",
        "warm overhead",
        "capacity",
        "search cost",
        "expiry scaling",
        "reminder scaling",
        "size",
        "SMS",
        "local load",
        "outbox",
    ]
    rows.sort(key=lambda r: order.index(r.figure) if r.figure in order else len(order))
    print(report.render(rows))
    elapsed = time.monotonic() - started
    print(f"\n{len(rows)} rows in {elapsed:.0f} s; misses: {sum(r.verdict == 'MISS' for r in rows)}")
    if args.only:
        say("partial run (--only): bench/results.json left as it was")
    else:
        say(f"wrote {report.write(rows, started, chosen).relative_to(report.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
