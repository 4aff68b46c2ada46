"""Local load: 16 concurrent clients for 30 s against the local dev server (`python -m local.devserver`,
what `make dev` runs), each looping over list, get and send with its own keep-alive connection.

The server runs with its own port and a temporary data folder (never the developer's .local/), and
is stopped at the end. Skipped, with a clear row, when local/devserver.py does not exist yet."""

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.report import Row, check, median, percentile, say
from local.dynamodb_local import free_port

CLIENTS = 16
SECONDS = 30.0
READY_TIMEOUT = 180.0
REQUEST_TIMEOUT = 30.0
SEED = 20  # invitations sent before the run, so that `get` has something to read
SUB, NAME = "clinician-bench-load", "Dr Alice Martin"
PER_CLINICIAN = 150  # sends per clinician: the service allows MaxSendsPerDay (200) a day
ROUTES = ("list", "get", "send")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {r: [] for r in ROUTES})
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    def __init__(self, port: int, token: str) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        headers = dict(self._headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self._connection.request(method, path, body=payload, headers=headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()  # reconnects on the next request
            raise

    def close(self) -> None:
        self._connection.close()


def _body(n: int) -> dict[str, str]:
    return {"first_name": "Hélène", "last_name": f"Charge-{n}", "email": f"charge.{n}@example.org", "locale": "fr"}


def _worker(port: int, token: str, ids: list[str], deadline: float, tally: Tally, worker: int, sender: Any) -> None:
    """`sender(worker, k)`: the token of this worker's k-th sending clinician (list and get read the
    first clinician's invitations; each worker sends as its own clinicians, 150 sends each)."""
    client = Client(port, token)
    n = 0
    try:
        while time.monotonic() < deadline:
            route = ROUTES[n % len(ROUTES)]
            if route == "list":
                method, path, body, expect = "GET", "/invitations?limit=20", None, 200
            elif route == "get":
                method, path, body, expect = "GET", f"/invitations/{ids[n % len(ids)]}", None, 200
            else:
                method, path, body, expect = "POST", "/invitations", _body(worker * 100_000 + n), 201
            sending = sender(worker, (n // len(ROUTES)) // PER_CLINICIAN) if route == "send" else token
            client._headers["Authorization"] = f"Bearer {sending}"
            started = time.perf_counter()
            try:
                status, _ = client.request(method, path, body)
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__  # type: ignore[assignment]
            elapsed = time.perf_counter() - started
            with tally.lock:
                tally.latencies[route].append(elapsed)
                if status != expect:
                    tally.errors.append(f"{route}: {status}")
            n += 1
    finally:
        client.close()


def _wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the dev server exited with code {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/_local/outbox", headers={"Accept": "application/json"})
            if connection.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the dev server did not answer within {READY_TIMEOUT:.0f} s")


def _token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "local.token", "--sub", SUB, "--name", NAME],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class DevServer:
    port: int
    data: Path  # its data folder (a temporary one)
    log: Path
    env: dict[str, str]
    startup: float  # seconds until it answered


@contextmanager
def dev_server(prefix: str) -> Iterator[DevServer]:
    """`python -m local.devserver` (what `make dev` runs) on a free port with a fresh data folder,
    stopped on leaving. A failure inside raises RuntimeError with the end of the server's log."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix=prefix) as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(PORT=str(port), LOCAL_DATA_DIR=data)
        log = Path(data) / "devserver.log"
        say(f"  starting the dev server on 127.0.0.1:{port} (data in a temporary folder)")
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "local.devserver"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: nothing of it outlives the bench
            )
            try:
                began = time.monotonic()
                _wait_ready(port, server)
                yield DevServer(port, Path(data), log, env, time.monotonic() - began)
            except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as error:
                tail = log.read_text(errors="replace").strip().splitlines()[-5:]
                raise RuntimeError(f"{error}; server log: {' / '.join(tail)}") from None
            finally:
                _stop(server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # the dev server stops its children on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def run() -> list[Row]:
    if not (ROOT / "local" / "devserver.py").is_file():
        return [Row("local load", "16 clients x 30 s (list, get, send)", "not available", "0 errors", "skip",
                    "local/devserver.py does not exist yet")]  # fmt: skip
    try:
        with dev_server("bench-load-") as server:
            token = _token(server.env)
            seeder = Client(server.port, token)
            ids = []
            for n in range(SEED):
                status, body = seeder.request("POST", "/invitations", _body(n))
                if status != 201:
                    raise RuntimeError(f"seeding: POST /invitations answered {status}")
                ids.append(json.loads(body)["id"])
            seeder.close()
            say(f"  {CLIENTS} clients for {SECONDS:.0f} s")
            tally = Tally()
            deadline = time.monotonic() + SECONDS
            started = time.monotonic()
            from local import auth

            senders = {
                (w, k): auth.mint(server.data, f"{SUB}-w{w:02d}-{k}", NAME, 3600)
                for w in range(CLIENTS)
                for k in range(4)
            }
            threads = [
                threading.Thread(
                    target=_worker,
                    args=(server.port, token, ids, deadline, tally, w, lambda w, k: senders[(w, k)]),
                    daemon=True,
                )
                for w in range(CLIENTS)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=SECONDS + REQUEST_TIMEOUT + 10)
            elapsed = time.monotonic() - started
    except RuntimeError as error:
        return [Row("local load", "16 clients x 30 s (list, get, send)", "failed", "0 errors", "MISS", str(error))]
    return _rows(tally, elapsed, server.startup)


def _rows(tally: Tally, elapsed: float, startup: float) -> list[Row]:
    everything = [x for route in ROUTES for x in tally.latencies[route]]
    total = len(everything)
    errors = len(tally.errors)
    sample = sorted(set(tally.errors))[:3]
    rows = [
        Row(
            "local load",
            f"{CLIENTS} clients x {SECONDS:.0f} s (list, get, send)",
            f"{total / elapsed:.0f} req/s",
            "report; 0 errors",
            check(errors == 0),
            f"{total} requests, {errors} errors{' (' + ', '.join(sample) + ')' if sample else ''}; "
            f"p50 {median(everything) * 1e3:.0f} ms, p99 {percentile(everything, 99) * 1e3:.0f} ms; "
            f"server ready in {startup:.0f} s",
            {
                "requests": total,
                "errors": errors,
                "error_samples": sample,
                "seconds": elapsed,
                "clients": CLIENTS,
                "p50_ms": median(everything) * 1e3,
                "p99_ms": percentile(everything, 99) * 1e3,
            },
        )
    ]
    for route in ROUTES:
        xs = tally.latencies[route]
        if xs:
            rows.append(
                Row(
                    "local load",
                    f"  {route}",
                    f"{len(xs) / elapsed:.0f} req/s",
                    "report",
                    "info",
                    f"{len(xs)} requests; p50 {median(xs) * 1e3:.0f} ms, p99 {percentile(xs, 99) * 1e3:.0f} ms",
                    {"requests": len(xs), "p50_ms": median(xs) * 1e3, "p99_ms": percentile(xs, 99) * 1e3},
                )
            )
    return rows
