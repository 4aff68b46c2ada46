"""The outbox against the local stack (`python -m local.devserver`, what `make dev` runs): no request
waits for SES, and a burst over SES's sending rate is delivered, exactly once, by the stream.

The dev server serves every route through the real handlers, reads the table's stream from
DynamoDB Local and hands it to DispatchFunction as the template's event source mapping says
(local/streams.py: EventSourceMapping + ShardReader, with retries, bisection and the on-failure
queue), and SES is moto. The provider's faults are the dev server's own (`POST /_local/faults`,
local/faults.py: a before-call hook on the functions' boto3 session), so the code under test sees
a real botocore answer: a slower SES, or a throttled one beyond a rate.

- SES 1.5 s slower: POST /invitations, one client, in alternating phases without and with the
  delay (the dispatcher busy calling the slow SES meanwhile); the ratio of the medians.
- Burst: N invitations sent by 16 clients (distinct recipients, a clinician per 150 sends: the
  service allows 200 a day per clinician, 3 per recipient), dispatched through the stream; once
  as is, once with SES limited to 14 messages a second. Then every message must be in SES's
  recording exactly once and every invitation `sent` (none `failed`); entries the stream gave up on
  (on-failure queue) are swept as the scheduled sweeper does (the clock moved past its 3 minutes).
  The figure is POST /invitations' p99 with the limit over the same without it."""

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import ROOT, load
from bench.load import Client
from bench.report import Row, check, median, percentile, ratio_interval, say

DELAY_MS = 1500
DELAY_SENDS = 30  # per phase; phases: off, delayed, delayed, off
DELAY_TARGET = 1.1
BURST = 1000  # invitations per burst (`python -m bench --burst N`)
CLIENTS = 16
SES_RATE = 14  # messages a second: SES's default sending rate out of the sandbox
P99_TARGET = 1.1
PER_CLINICIAN = 150  # sends per clinician: under MaxSendsPerDay (200)
DRAIN_TIMEOUT = 900.0  # seconds for a burst's messages to be dispatched
STALL_SECONDS = 20.0  # no progress this long: the stream gave some up; sweep them
MAX_SWEEPS = 5  # sweeps without progress before the messages still missing are called missing
SWEEP_ADVANCE = 200  # seconds the clock moves once, past the sweeper's 3 minutes
NAME = "Dr Alice Martin"
# What a dispatched email may read as: `sent` by the dispatcher, then `delivered` by SES's report (moto).
DISPATCHED = {"sent", "delivered"}


@dataclass
class Server:
    port: int
    data: Path
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, sub: str) -> str:
        if sub not in self.tokens:
            from local import auth

            self.tokens[sub] = auth.mint(self.data, sub, NAME, 6 * 3600)
        return self.tokens[sub]

    def local(self, path: str, body: Any = None) -> Any:
        client = Client(self.port, "-")
        try:
            status, answer = client.request("POST" if body is not None else "GET", path, body)
        finally:
            client.close()
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {answer[:200]!r}")
        return json.loads(answer)

    def emails(self) -> list[dict[str, Any]]:
        return list(self.local("/_local/outbox")["emails"])


@contextmanager
def dev_server() -> Iterator[Server]:
    with load.dev_server("bench-outbox-") as running:
        yield Server(running.port, running.data, running.log)


def _body(tag: str, n: int) -> dict[str, str]:
    return {"first_name": "Hélène", "last_name": f"Rafale-{n}", "email": f"{tag}.{n}@example.org", "locale": "fr"}


def _send(client: Client, tag: str, n: int) -> tuple[float, str | None]:
    started = time.perf_counter()
    try:
        status, answer = client.request("POST", "/invitations", _body(tag, n))
    except (OSError, http.client.HTTPException) as error:
        return time.perf_counter() - started, type(error).__name__
    elapsed = time.perf_counter() - started
    return elapsed, None if status == 201 else f"{status} {answer[:120]!r}"


# -- SES 1.5 s slower --------------------------------------------------------------------------------


def ses_delay(server: Server) -> Row:
    client = Client(server.port, server.token("clinician-bench-delay"))
    seconds: dict[bool, list[float]] = {False: [], True: []}
    errors: list[str] = []
    during: list[int] = []  # SES calls completed while the delay was on
    n = 0
    try:
        for i in range(5):  # warm: every handler built, the stream flowing
            _send(client, "warm", i)
        for delayed in (False, True, True, False):
            server.local("/_local/faults", {"target": "email", "delay_ms": DELAY_MS} if delayed else {"reset": True})
            before = len(server.emails())
            for _ in range(DELAY_SENDS):
                took, error = _send(client, "delay", n)
                n += 1
                seconds[delayed].append(took)
                if error:
                    errors.append(error)
            if delayed:
                during.append(len(server.emails()) - before)
    finally:
        server.local("/_local/faults", {"reset": True})
        client.close()
    delivered, _ = _drain(server, "delay", n)
    ratio = median(seconds[True]) / median(seconds[False])
    low, high = ratio_interval(seconds[True], seconds[False])
    return Row(
        "outbox",
        f"SES {DELAY_MS / 1000:g} s slower: POST /invitations median",
        f"{ratio:.2f}x",
        f"<= {DELAY_TARGET}x",
        check(ratio <= DELAY_TARGET and not errors and delivered == n),
        f"median {median(seconds[True]) * 1e3:.0f} ms with the delay vs {median(seconds[False]) * 1e3:.0f} ms "
        f"without, n={len(seconds[True])} each (one client, alternating phases); 90% interval {low:.2f}-{high:.2f}x; "
        f"p99 {percentile(seconds[True], 99) * 1e3:.0f} vs {percentile(seconds[False], 99) * 1e3:.0f} ms; "
        f"SES calls completed during the delayed phases: {sum(during)} (the dispatcher waiting on SES); "
        f"{delivered}/{n} delivered afterwards; {len(errors)} errors",
        {
            "ratio": ratio,
            "interval_90": [low, high],
            "delayed_ms": [round(s * 1e3, 2) for s in seconds[True]],
            "plain_ms": [round(s * 1e3, 2) for s in seconds[False]],
            "ses_calls_during_delay": during,
            "delivered": delivered,
            "errors": errors[:5],
        },
    )


# -- the burst ---------------------------------------------------------------------------------------


@dataclass
class Burst:
    tag: str
    n: int
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stored: int = 0  # sends answered 201: the messages owed
    elapsed: float = 0.0
    dispatched_in: float = 0.0  # from the first request until every message was delivered
    sweeps: int = 0
    throttled: int = 0  # records the dispatcher reported failed (SES refused them): retried
    duplicates: int = 0
    missing: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


def _burst(server: Server, tag: str, n: int) -> Burst:
    result = Burst(tag, n)
    lock = threading.Lock()
    next_index = [0]

    def worker() -> None:
        client = Client(server.port, "-")  # one keep-alive connection per client, as in the load section
        try:
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= n:
                    return
                clinician = f"clinician-bench-{tag}-{i // PER_CLINICIAN:02d}"
                client._headers["Authorization"] = f"Bearer {server.token(clinician)}"
                took, error = _send(client, tag, i)
                with lock:
                    result.seconds.append(took)
                    if error:
                        result.errors.append(error)
                    else:
                        result.stored += 1
        finally:
            client.close()

    for i in range(n // PER_CLINICIAN + 1):  # tokens minted before the clock starts
        server.token(f"clinician-bench-{tag}-{i:02d}")
    retried_before = _retried(server)
    started = time.monotonic()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.monotonic() - started
    say(f"    {n} sent in {result.elapsed:.0f} s ({len(result.errors)} errors: {result.errors[:3]}); dispatching ...")
    _, result.sweeps = _drain(server, tag, result.stored, sweep=True)
    result.dispatched_in = time.monotonic() - started
    result.throttled = _retried(server) - retried_before
    sent = Counter(e["to"] for e in server.emails() if e["to"].startswith(f"{tag}."))
    result.duplicates = sum(c - 1 for c in sent.values() if c > 1)
    result.missing = result.stored - len(sent)
    result.statuses = _statuses(server, tag, n)
    return result


def _retried(server: Server) -> int:
    """Records the dispatcher reported failed so far (the dev server logs each batch's count)."""
    total = 0
    for line in server.log.read_text(errors="replace").splitlines():
        if "record(s) reported failed" in line:
            total += int(line.split("record(s) reported failed")[0].split()[-1])
    return total


def _drain(server: Server, tag: str, n: int, sweep: bool = False) -> tuple[int, int]:
    """Wait until the n messages of `tag` are in SES's recording; a stall means the stream gave some
    up (their positions went to the on-failure queue): the sweeper is run, as its schedule would."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    seen, last_change, sweeps, advanced = -1, time.monotonic(), 0, False
    while time.monotonic() < deadline:
        count = len({e["to"] for e in server.emails() if e["to"].startswith(f"{tag}.")})
        if count >= n:
            break
        if count != seen:
            seen, last_change = count, time.monotonic()
        elif sweep and time.monotonic() - last_change > STALL_SECONDS:
            if sweeps >= MAX_SWEEPS:
                break
            if not advanced:  # once: the sweeper takes entries older than 3 minutes
                server.local("/_local/clock", {"advance_seconds": SWEEP_ADVANCE})
                advanced = True
            say(f"    {count}/{n} delivered, no progress for {STALL_SECONDS:.0f} s: running the sweeper")
            server.local("/_local/run/schedules", {})
            sweeps += 1
            last_change = time.monotonic()
        time.sleep(2)
    else:
        count = len({e["to"] for e in server.emails() if e["to"].startswith(f"{tag}.")})
    return count, sweeps


def _statuses(server: Server, tag: str, n: int) -> Counter[str]:
    """Every invitation's delivery status, through the list route (a page of 100 at a time)."""
    found: Counter[str] = Counter()
    for i in range(n // PER_CLINICIAN + 1):
        client = Client(server.port, server.token(f"clinician-bench-{tag}-{i:02d}"))
        cursor = None
        try:
            while True:
                path = "/invitations?limit=100" + (f"&cursor={cursor}" if cursor else "")
                status, answer = client.request("GET", path)
                if status != 200:
                    found[f"list answered {status}"] += 1
                    break
                page = json.loads(answer)
                found.update(str(item["delivery"]["status"]) for item in page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        finally:
            client.close()
    return found


def _sample(errors: list[str]) -> str:
    return f" ({'; '.join(sorted(set(errors))[:2])})" if errors else ""


def burst_rows(plain: Burst, limited: Burst) -> list[Row]:
    p99 = percentile(limited.seconds, 99) / percentile(plain.seconds, 99)
    ok = all(
        not b.errors
        and not b.duplicates
        and not b.missing
        and b.statuses.total() == b.stored
        and set(b.statuses) <= DISPATCHED
        for b in (plain, limited)
    )
    rows = [
        Row(
            "outbox",
            f"burst of {limited.n:,}, SES at {SES_RATE}/s: POST /invitations p99",
            f"{p99:.2f}x",
            f"<= {P99_TARGET}x; each once",
            check(p99 <= P99_TARGET and ok),
            f"p99 {percentile(limited.seconds, 99) * 1e3:.0f} ms with the limit vs "
            f"{percentile(plain.seconds, 99) * 1e3:.0f} ms without (p50 {median(limited.seconds) * 1e3:.0f} vs "
            f"{median(plain.seconds) * 1e3:.0f} ms), {CLIENTS} clients; "
            + ("every message delivered exactly once, none failed" if ok else "NOT every message delivered once"),
            {"p99_ratio": p99},
        )
    ]
    for b, what in ((plain, "without a limit"), (limited, f"SES limited to {SES_RATE}/s")):
        rows.append(
            Row(
                "outbox",
                f"  burst {what}",
                f"{b.n / b.elapsed:.0f} req/s",
                "report",
                "info",
                f"{b.n} sends in {b.elapsed:.0f} s, {len(b.errors)} errors{_sample(b.errors)}; all dispatched {b.dispatched_in:.0f} s "
                f"after the first; SES got {b.stored - b.missing} distinct messages, {b.duplicates} duplicates; "
                f"statuses {dict(b.statuses)}; records retried after a refusal {b.throttled}; sweeper runs {b.sweeps}",
                {
                    "sends": b.n,
                    "errors": b.errors[:5],
                    "seconds": b.elapsed,
                    "dispatched_seconds": b.dispatched_in,
                    "duplicates": b.duplicates,
                    "missing": b.missing,
                    "statuses": dict(b.statuses),
                    "sweeps": b.sweeps,
                    "records_retried": b.throttled,
                    "p50_ms": median(b.seconds) * 1e3,
                    "p99_ms": percentile(b.seconds, 99) * 1e3,
                    "latencies_ms": [round(s * 1e3, 1) for s in b.seconds],
                },
            )
        )
    return rows


def run(burst: int = BURST) -> list[Row]:
    if not (ROOT / "local" / "devserver.py").is_file():
        return [Row("outbox", "the local stack", "not available", "", "skip", "local/devserver.py does not exist")]
    rows: list[Row] = []
    with dev_server() as server:
        try:
            say(f"  SES {DELAY_MS} ms slower: POST /invitations, {DELAY_SENDS} sends a phase, 4 phases")
            rows.append(ses_delay(server))
            say(f"  burst of {burst} without a limit")
            plain = _burst(server, "plain", burst)
            server.local("/_local/faults", {"target": "email", "rate_per_s": SES_RATE})
            say(f"  burst of {burst} with SES limited to {SES_RATE}/s")
            limited = _burst(server, "limited", burst)
            rows += burst_rows(plain, limited)
        except (RuntimeError, TimeoutError, OSError) as error:
            tail = server.log.read_text(errors="replace").strip().splitlines()[-3:]
            rows.append(Row("outbox", "the local stack", "failed", "", "MISS", f"{error}; log: {' / '.join(tail)}"))
    return rows
