"""`make dev`: the whole service on http://127.0.0.1:$PORT (default 3000), without Docker.

One process tree, driven by template.yaml: DynamoDB Local (data kept in the data folder), moto
server (SES, SNS, EventBridge, SQS, Secrets Manager), the resources the functions need, a local
HTTP API that turns requests into API Gateway payload 2.0 events for the functions' handlers, the
JWT authorizer, the schedule, the table's stream (read from DynamoDB Local's Streams API and handed
to the function the template maps it to), the outbox, provider faults and the test clock. Ctrl-C
(or SIGTERM) stops it all.

The log shows method, route and status only: never a raw path (it may hold a link token),
never a body."""

import argparse
import json
import os
import signal
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn

from local import aws_stack
from local.apigw import HttpRequest, HttpResponse, gateway_error, route_table
from local.auth import Authorizer
from local.clock import LocalClock
from local.console import Console
from local.dynamodb_local import DynamoDBLocal
from local.faults import Faults
from local.gateway import Gateway
from local.lambdas import REGION, FunctionHost, LocalFunction, put_layers_on_path, shared_environment
from local.outbox import Outbox
from local.paths import data_dir as default_data_dir
from local.processes import PidFile
from local.schedule import Scheduled, run_every, scheduled
from local.simulators import Simulators
from local.streams import EventSourceMapping, Record, ShardReader
from local.template import (
    StreamSource,
    cors_configuration,
    functions,
    jwt_authorizer,
    layer_dirs,
    load_template,
    resolve,
)

POSITION_FILE = "stream-positions.json"  # how far each table's stream was handed over (kept across restarts)
LOOPBACK = "127.0.0.1"  # the only address it listens on: the console mints tokens for anyone
STREAM_POLL_SECONDS = 0.25  # a message is in the outbox well within 2 s of its request


def say(message: str) -> None:
    print(message, flush=True)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as browsers and API Gateway use
    server_version = "local-api-gateway"
    timeout = 60  # an idle keep-alive connection is closed after a minute
    server: "LocalHttpServer"

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        started = time.monotonic()
        raw_path, _, raw_query = self.path.partition("?")
        request = HttpRequest(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=list(self.headers.items()),
            body=self._read_body(),
            source_ip=self.client_address[0],
            server_port=self.server.server_address[1],
        )
        try:
            outcome = self.server.gateway.handle(request)
            response, label, note = outcome.response, outcome.label, outcome.note
        except Exception as error:  # noqa: BLE001 - the local gateway itself failed
            response, label, note = gateway_error(500, "Internal Server Error"), self.command, type(error).__name__
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting: nothing to answer
            note = f"{note} (the client went away)".strip()
            self.close_connection = True
        elapsed = (time.monotonic() - started) * 1000
        say(f"{label} {response.status} {elapsed:.0f}ms{' ' + note if note else ''}")

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the gateway (TRACE, PROPFIND, ...): without a route it answers 404
        # as API Gateway does, rather than http.server's 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """The default line holds the raw path (a link token, maybe): `_handle` logs instead."""


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog is 5: a burst of 16 clients had connections reset before
    # they were accepted (the requests never reached the gateway).
    request_queue_size = 128
    gateway: Gateway


def lambda_shaped(record: Record) -> Record:
    """A Streams API record as Lambda hands it over: the creation time in epoch seconds, the
    function's region."""
    shaped = dict(record, awsRegion=REGION)
    image = dict(shaped.get("dynamodb") or {})
    created = image.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        image["ApproximateCreationDateTime"] = int(created.timestamp())
    shaped["dynamodb"] = image
    return shaped


class StreamPoller:
    """Lambda's poller for one DynamoDB event source mapping: reads the table's stream a few times
    a second (DynamoDB Local's Streams API), hands the records over in the template's batches
    (filters, partial failures, retries, bisection, on-failure queue: local/streams.py), and keeps
    its position in the data folder once a batch is handed over, so a restarted `make dev`
    dispatches whatever was stored and not yet handed over."""

    def __init__(
        self,
        function: LocalFunction,
        source: StreamSource,
        reader: Any,  # () -> ShardReader: a fresh reader after an error (it re-reads the position file)
        invoke: Any,
        on_failure: Any,
        lambda_arn: str,
        stopping: threading.Event,
    ) -> None:
        self.function = function
        self.source = source
        self._new_reader = reader
        self._reader: ShardReader = reader()
        self._stopping = stopping
        self.mapping = EventSourceMapping(source, lambda_arn, self._timed(invoke), on_failure)

    def _timed(self, invoke: Any) -> Any:
        def call(event: dict[str, Any]) -> Any:
            started = time.monotonic()
            note = ""
            try:
                answer = invoke(event)
            except Exception as error:
                note = f" function error {type(error).__name__}"
                raise
            finally:
                elapsed = (time.monotonic() - started) * 1000
                say(f"stream {self.function.name} {len(event['Records'])} record(s) {elapsed:.0f}ms{note}")
            failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
            if failures:
                say(f"stream {self.function.name} {len(failures)} record(s) reported failed: retried")
            return answer

        return call

    def poll_once(self) -> int:
        """Hand over every record not handed over yet; returns how many were read."""
        records = self._reader.read()
        pending: list[Record] = []
        wanted = 0
        for record in records:
            pending.append(lambda_shaped(record))
            wanted += self.mapping.wanted(pending[-1])
            if wanted >= self.source.batch_size:
                if self._stopping.is_set():
                    return len(records)  # not handed over: the next start reads them again
                self._hand_over(pending)
                pending, wanted = [], 0
        if pending and not self._stopping.is_set():
            self._hand_over(pending)
        return len(records)

    def _hand_over(self, records: list[Record]) -> None:
        outcome = self.mapping.process(records)
        for given_up in outcome.failed_batches:
            info = given_up["DDBStreamBatchInfo"]
            say(
                f"stream {self.function.name} gave up {info['batchSize']} record(s): position sent to the on-failure queue"
            )
        self._reader.done_with(records)

    def run(self) -> None:
        while not self._stopping.wait(STREAM_POLL_SECONDS):
            try:
                self.poll_once()
            except Exception as error:  # noqa: BLE001 - DynamoDB Local busy or stopping: read again from the position
                if self._stopping.is_set():
                    return
                say(f"stream {self.function.name}: not read ({type(error).__name__}), trying again")
                self._stopping.wait(2)
                try:
                    self._reader = self._new_reader()
                except Exception as again:  # noqa: BLE001 - the next round tries again
                    say(f"stream {self.function.name}: not reopened ({type(again).__name__})")


class LocalStack:
    def __init__(self, data_dir: Path, port: int, hold_stream: bool = False) -> None:
        self.data_dir = data_dir
        self.port = port
        self.hold_stream = hold_stream
        self.base_url = f"http://127.0.0.1:{port}"
        self.pids = PidFile(data_dir)
        self.dynamodb = DynamoDBLocal(db_path=data_dir / "dynamodb")
        self.moto = aws_stack.MotoServer(data_dir)
        self.http: LocalHttpServer | None = None
        self.outbox: Outbox | None = None
        self.faults = Faults()  # in memory: none when `make dev` starts
        self.simulators: Simulators | None = None  # the providers' reports (local/simulators.py)
        self.pollers: list[StreamPoller] = []
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stream_threads: list[threading.Thread] = []
        self._owns_data_dir = False
        self._serving = False

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        other = self.pids.running_server()
        if other:
            raise SystemExit(f"Another dev server (pid {other}) is using {self.data_dir}; stop it first.")
        leftovers = self.pids.stop_leftovers()
        if leftovers:
            say(f"Stopped what a previous run left behind: {', '.join(leftovers)}")
        self.pids.record("devserver", os.getpid())
        self._owns_data_dir = True
        try:  # bind first: a busy port fails before anything else starts
            self.http = LocalHttpServer((LOOPBACK, self.port), RequestHandler)
        except OSError as error:
            raise SystemExit(f"Port {self.port} is not free ({error.strerror}); try PORT=3001 make dev") from None

        say(f"Starting DynamoDB Local and moto server (data in {self.data_dir}) ...")
        with ThreadPoolExecutor(max_workers=1) as pool:  # Java is the slow one: start it alongside
            java = pool.submit(self.dynamodb.start)
            self.moto.start()
            self.pids.record("moto", self.moto.pid or 0)
            java.result()
        self.pids.record("dynamodb", self.dynamodb.pid or 0)

        template = load_template()
        params = aws_stack.parameters(template, self.base_url)
        stack = aws_stack.provision(template, params, self.dynamodb.endpoint, self.moto.endpoint, self.data_dir)
        specs = functions(template, stack.refs)
        clock = LocalClock(self.data_dir)
        os.environ.update(self._function_environment(shared_environment(specs), clock))
        put_layers_on_path(layer_dirs(template))
        host = FunctionHost(specs, before_invoke=self._install_faults)
        self.simulators = Simulators(template, stack.refs, host, self.data_dir, self._stopping, say)
        self.simulators.start()

        jwt = resolve(jwt_authorizer(template) or {}, params)
        audiences = jwt.get("audience") or []
        authorizer = Authorizer.load(self.data_dir, str(jwt.get("issuer")), tuple(audiences))
        self.moto.start_recording()
        outbox = Outbox(
            self.data_dir,
            self.moto.recording,
            aws_stack.aws_client("sqs", self.moto.endpoint),
            stack.outbox_queue_url,
            self.base_url,
        )
        cors = cors_configuration(template, params)
        console = Console(self.data_dir, self.port, outbox.snapshot)
        self.http.gateway = Gateway(route_table(specs), host, authorizer, outbox, clock, cors, self.faults, console)
        self.outbox = outbox
        self._start_schedules()
        self._start_streams(host, stack)
        self._spawn(self._collect_events, "outbox")
        self._spawn(self.http.serve_forever, "http")
        self._serving = True
        self._banner(clock, stack.resources)

    def _install_faults(self) -> None:
        """Before each invocation (idempotent, cheap): the functions' boto3 session consults the
        faults, even one built afresh (runtime.reset, a SnapStart restore)."""
        from invitations import runtime  # the layer is on the path by now

        self.faults.install(runtime._session())
        if self.simulators is not None:
            self.simulators.install(runtime._session())

    def _start_streams(self, host: FunctionHost, stack: aws_stack.Provisioned) -> None:
        sqs = aws_stack.aws_client("sqs", self.moto.endpoint)
        streams = aws_stack.aws_client("dynamodbstreams", self.dynamodb.endpoint)
        for function in host.functions.values():
            for source in function.spec.streams:
                stream_arn = stack.streams.get(source.table)
                if stream_arn is None:
                    say(f"  (the stream of {source.table} is off: {function.name} is never invoked by it)")
                    continue
                queue_url = stack.refs.get(source.on_failure) if source.on_failure else None

                def to_queue(info: dict[str, Any], url: str | None = queue_url) -> None:
                    if url:
                        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(info))

                def invoke(event: dict[str, Any], function: LocalFunction = function) -> Any:
                    return host.invoke(function, event)

                def reader(arn: str = stream_arn) -> ShardReader:
                    return ShardReader(streams, arn, self.data_dir / POSITION_FILE)

                lambda_arn = stack.refs.get(f"{source.table}.StreamArn", stream_arn)
                poller = StreamPoller(function, source, reader, invoke, to_queue, lambda_arn, self._stopping)
                self.pollers.append(poller)
                if self.hold_stream:
                    say(f"  (the stream of {source.table} is held: nothing is dispatched until a start without it)")
                    continue
                thread = threading.Thread(target=poller.run, name=f"stream-{function.name}", daemon=True)
                thread.start()
                self._stream_threads.append(thread)

    def _function_environment(self, template_env: dict[str, str], clock: LocalClock) -> dict[str, str]:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(name, None)  # nothing may reach a real account
        return {
            **template_env,
            **aws_stack.CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.moto.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.endpoint,
            "CLOCK_OFFSET_FILE": str(clock.path),
        }

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_schedules(self) -> None:
        assert self.http is not None
        gateway = self.http.gateway
        jobs, skipped = scheduled(gateway.host.functions)
        for expression in skipped:
            say(f"  (schedule {expression} is not emulated: run it with POST /_local/run/<name>)")
        for job in jobs:

            def run(job: Scheduled = job) -> None:
                outcome = gateway.run_scheduled(job.function, f"schedule {job.name}")
                say(f"{outcome.label} {outcome.response.status} {outcome.note}".rstrip())

            self._spawn(partial(run_every, job.period_seconds, run, self._stopping), f"schedule-{job.name}")

    def _collect_events(self) -> None:
        while not self._stopping.wait(1) and self.outbox is not None:
            try:
                self.outbox.collect()
            except Exception as error:  # noqa: BLE001 - moto busy or stopping: the next round catches up
                say(f"outbox: events not collected yet ({type(error).__name__})")

    def _banner(self, clock: LocalClock, resources: list[str]) -> None:
        url = self.base_url
        lines = [
            f"From template.yaml: {', '.join(resources)}",
            "",
            f"Local stack ready (data in {self.data_dir})",
            f"  Console: {url}/   (the clinician app's screens; local only: it mints tokens for anyone)",
            f"  API:     {url}   ({len(self.http.gateway.routes) if self.http else 0} routes from template.yaml)",
            f"  CORS:    {self._cors_line()}",
            f"  Outbox:  {url}/_local/outbox   (JSON with curl, a page in a browser)",
            '  Token:   make token SUB=clinician-1 NAME="Dr Alice Martin"   (the last line is the token)',
            f'  Try:     curl -H "Authorization: Bearer $(make -s token SUB=c1 NAME=Dr | tail -1)" {url}/invitations',
            f"  Clock:   curl -X POST -d '{{\"advance_seconds\": 1209601}}' {url}/_local/clock   ('{{\"reset\": true}}')",
            f"  Expiry:  on the template's schedule, or now: curl -X POST {url}/_local/run/expire_invites",
            f"  Sweep:   every schedule of the template, now: curl -X POST {url}/_local/run/schedules",
            f'  Faults:  curl -X POST -d \'{{"target": "email", "fail_next": 3}}\' {url}/_local/faults'
            "   (events | email | sms; delay_ms, rate_per_s; '{\"reset\": true}')",
            "Ctrl-C stops everything.",
        ]
        if clock.offset():
            lines.insert(
                -1, f"  Note: the test clock is {clock.offset():.0f} s ahead (reset it with the Clock command)."
            )
        say("\n".join(lines))

    def _cors_line(self) -> str:
        cors = self.http.gateway.cors if self.http else None
        if cors is None:
            return "off (AllowedOrigins is empty: ALLOWED_ORIGINS=http://localhost:5173 make dev to allow a web app)"
        return "allowed for " + ", ".join(cors.allow_origins)

    def stop(self) -> None:
        self._stopping.set()
        if self.http is not None:
            if self._serving:
                self.http.shutdown()  # waits for serve_forever to return: only once it runs
            self.http.server_close()
        for thread in self._stream_threads:
            thread.join(timeout=30)  # the batch being handed over ends; the rest waits for the next start
        if self.outbox is not None:
            try:
                self.outbox.collect()  # the last events, before moto forgets them
            except Exception as error:  # noqa: BLE001 - stopping anyway
                say(f"outbox: last events not collected ({type(error).__name__})")
        self.moto.stop()
        self.dynamodb.stop()
        if self._owns_data_dir:
            self.pids.clear()


def _interrupt(signum: int, _frame: Any) -> NoReturn:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.devserver", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    parser.add_argument("--data-dir", default=None, help="where data is kept (default .local/, or $LOCAL_DATA_DIR)")
    parser.add_argument(
        "--hold-stream",
        action="store_true",
        help="do not read the table's stream: changes are stored, nothing is dispatched (as when the dispatcher is down)",
    )
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help=f"where to listen: {LOOPBACK} only (anyone who reaches the console may act as any clinician)",
    )
    args = parser.parse_args(argv)
    if args.host != LOOPBACK:
        parser.exit(
            2,
            f"The dev server listens on {LOOPBACK} only, never on {args.host}: its console mints a token for any "
            "clinician (POST /_local/token) and its routes move the clock and fake providers. To reach it from "
            f"another device, forward a port over SSH (ssh -L 3000:{LOOPBACK}:3000 <this machine>).\n",
        )
    # Powertools warns on every invocation that records no metric: noise in a developer's terminal.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stack = LocalStack(default_data_dir(args.data_dir), args.port, hold_stream=args.hold_stream)
    # SIGTERM stops as Ctrl-C does: through the `finally` below, which stops every child.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        say("Stopping ...")
        stack.stop()
        say("Stopped.")
    sys.exit(0)


if __name__ == "__main__":
    main()
