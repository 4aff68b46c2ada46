"""Cold start: a fresh interpreter importing a function's handler module and answering its first
real request (a real-shaped event, DynamoDB Local behind it, the link secret, SES and EventBridge
served by a stub on 127.0.0.1), against a fresh interpreter doing the same with a reference: a
minimal handler written with the same packages (boto3, Powertools' APIGatewayHttpResolver with
enable_validation, Logger, Metrics, pydantic), making the same AWS calls and returning the same
answer (bench/minimal/). That reference is the floor the design card sets; the target is the
function within 1.10x of it.

Both sides are timed from spawn until the child has the handler's answer; the child then leaves
with os._exit, so interpreter teardown (which Lambda never pays) is not counted. The runs are
interleaved (round by round, the three sides below in each of their six orders in turn), and
`import boto3` alone is timed in every round too, as the old baseline (an info row). Each round also times every reference a second time:
a ratio of medians where nothing differs shows how far this machine's noise alone moves one (an
info row, "the instrument").

The runs use a private bytecode cache (one untimed run of each command fills it): every module has
its .pyc, as the built layer ships it (the `layer bytecode` row checks the build does).
"""

import itertools
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import LAYER, ROOT, stack
from bench.aws_stub import AwsStub
from bench.report import Row, check, median, ratio_interval, say
from bench.stack import EVENTS_DIR, LINK_SECRET, Stack, api_event, create_table, function_env

# Rounds; every round runs each side of every function once. 24, not the 9 the target asks at
# least: on this shared 2-core machine a median of 11 moved by up to 0.3x from run to run. A
# multiple of len(ORDERS), so that every order runs as often.
RUNS = 24
OWN_RUNS = 11  # rounds of the own-import info row
TARGET = 1.10
CHILD_TIMEOUT = 120  # seconds: a child that never answers fails the run instead of hanging it
FUNCTIONS_DIR = ROOT / "functions"
MINIMAL_DIR = ROOT / "bench" / "minimal"
TABLES = {"function": "invitations-bench-cold-fn", "reference": "invitations-bench-cold-ref"}
CLINICIAN = "clinician-bench-cold"
MARK = "BENCH-READY "
# Each round runs the function, its reference and the reference again in one of the six orders, all
# six equally often: each side comes first, second and third, and after each other side, as often.
ORDERS = tuple(itertools.permutations(("function", "reference", "again")))
assert RUNS % len(ORDERS) == 0

# What each child runs: the same prelude on both sides (the event comes in BENCH_EVENT).
PRELUDE = f"""import os, sys, json, uuid
def ready(parts):
    sys.stdout.write({MARK!r} + json.dumps(parts) + '\\n'); sys.stdout.flush(); os._exit(0)
class Context:
    function_name = 'invitations-bench'; function_version = '$LATEST'; memory_limit_in_mb = 512
    invoked_function_arn = 'arn:aws:lambda:eu-west-3:123456789012:function:invitations-bench'
    log_group_name = '/aws/lambda/invitations-bench'; log_stream_name = 'bench'
    aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self): return 300000
EVENT = json.loads(os.environ['BENCH_EVENT'])
"""
BOTO3 = "import time; t0 = time.perf_counter(); import boto3; ready({'import': time.perf_counter() - t0})"


def _answering(module: str) -> str:
    return (
        f"import time; t0 = time.perf_counter(); import {module} as app; t1 = time.perf_counter(); "
        "answer = app.lambda_handler(EVENT, Context()); t2 = time.perf_counter(); "
        "ready({'import': t1 - t0, 'first_request': t2 - t1, "
        "'answer': answer.get('statusCode', answer) if isinstance(answer, dict) else str(answer)})"
    )


# What both sides import from the design card's packages. With these already imported, importing a
# handler module times only what is its own: the project's code (or the reference's few lines).
SHARED_PACKAGES = (
    "boto3",
    "botocore.config",
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.event_handler.openapi.params",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.utilities.typing",
)


def _own_import(module: str) -> str:
    return (
        f"import {', '.join(SHARED_PACKAGES)}; import time; t0 = time.perf_counter(); import {module}; "
        "ready({'own_import': time.perf_counter() - t0})"
    )


# -- the calls both sides make --------------------------------------------------------------------

# Prepended to a child's code in the untimed runs that fill the bytecode cache: every AWS call the
# child makes (botocore's one entry point for them), one JSON line each, to the file BENCH_CALLS
# names. The timed runs do not carry it.
SPY = """import botocore.client
def _spied(make=botocore.client.BaseClient._make_api_call):
    def spy(self, operation, params):
        with open(os.environ['BENCH_CALLS'], 'a') as out:
            call = [self.meta.service_model.service_name, operation, params]
            out.write(json.dumps(call, default=str) + '\\n')
        return make(self, operation, params)
    return spy
botocore.client.BaseClient._make_api_call = _spied()
"""
# Request parameters whose value, not only their name, says which call it is.
TELLING = frozenset({"ConsistentRead", "IndexName", "ReturnConsumedCapacity", "ReturnValues", "Select", "VersionStage"})
WRITES = ("Put", "Update", "Delete", "ConditionCheck")
_UPDATE_WORDS = frozenset({"SET", "REMOVE", "ADD", "DELETE", "if_not_exists", "list_append"})

type Call = tuple[str, str, dict[str, Any]]  # service, operation, request parameters
type Shape = tuple[str, tuple[str, ...]]  # what a call (or a written item) is, and its attribute names


def _text(attribute: Any) -> str:
    """A key attribute's string, as a low-level client sends it ({"S": ...}) or a resource does."""
    return str(attribute.get("S", "")) if isinstance(attribute, dict) else str(attribute or "")


def item_kind(item: dict[str, Any]) -> str:
    """Which of the service's items a key or an item is: by its sort key (INV, PAT, OUT#, HIST#,
    QUOTA, ...); a name entry (NAME#<clinician> / <word>#<id>) by its partition key."""
    if _text(item.get("pk")).startswith("NAME#"):
        return "NAME"
    head, hash_, _ = _text(item.get("sk")).partition("#")
    return head + hash_


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={params[k]}" if k in TELLING else k for k in sorted(params))


def _updated(update: dict[str, Any]) -> tuple[str, ...]:
    """The attribute names an UpdateExpression sets or removes (#placeholders resolved)."""
    names = update.get("ExpressionAttributeNames", {})
    expression = re.sub(r"#\w+", lambda m: names.get(m.group(), m.group()), update.get("UpdateExpression", ""))
    found = re.findall(r"(?<![:\w])[A-Za-z_]\w*", expression)
    return tuple(sorted({word for word in found if word not in _UPDATE_WORDS}))


def _written(operation: str, kind: str, write: dict[str, Any]) -> Shape:
    """One written item: where (operation and action), its parameters, its kind, its attributes."""
    if kind == "Put":
        what, attributes = item_kind(write["Item"]), tuple(sorted(write["Item"]))
    elif kind == "Update":
        what, attributes = item_kind(write["Key"]), _updated(write)
    else:
        what, attributes = item_kind(write["Key"]), tuple(sorted(write["Key"]))
    return f"{operation} {kind}({_params(write)}) {what}", attributes


def call_shapes(calls: Iterable[Call]) -> list[Shape]:
    """What a side's calls are, leaving out the values that differ from run to run and side to side
    (ids, times, table names): each call's operation and request parameter names (and the values
    in TELLING), which items it reads, and each item it writes with its attribute names."""
    shapes: list[Shape] = []
    for service, operation, params in calls:
        call = f"{service}.{operation}({_params(params)})"
        if operation == "GetItem":
            call += " " + item_kind(params["Key"])
        elif operation == "BatchGetItem":  # keyed by table name: the sides' tables differ
            for request in params["RequestItems"].values():
                kinds = ", ".join(sorted(item_kind(key) for key in request["Keys"]))
                call += f" <table>({_params(request)}) {kinds}"
        elif operation == "TransactWriteItems":
            for write in params["TransactItems"]:
                ((kind, detail),) = write.items()
                shapes.append(_written(operation, kind, detail))
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            shapes.append(_written(operation, operation.removesuffix("Item"), params))
        shapes.append((call, ()))
    return sorted(shapes)


def _shown(shape: Shape) -> str:
    call, attributes = shape
    return f"{call}: {', '.join(attributes)}" if attributes else call


def call_differences(function: Iterable[Call], reference: Iterable[Call]) -> list[str]:
    """How a reference's calls differ from its function's, in any order (sorted multisets of
    call_shapes): an item written by both with other attributes is told by its attributes."""
    f, r = Counter(call_shapes(function)), Counter(call_shapes(reference))
    only_f, only_r = sorted((f - r).elements()), sorted((r - f).elements())
    differences = []
    for shape in only_f:
        twin = next((other for other in only_r if other[0] == shape[0] and other[1]), None)
        if shape[1] and twin is not None:
            only_r.remove(twin)
            more, fewer = sorted(set(shape[1]) - set(twin[1])), sorted(set(twin[1]) - set(shape[1]))
            differences.append(
                f"{shape[0]}: function only {', '.join(more) or '-'}; reference only {', '.join(fewer) or '-'}"
            )
        else:
            differences.append(f"function only: {_shown(shape)}")
    return differences + [f"reference only: {_shown(shape)}" for shape in only_r]


# -- the first requests ----------------------------------------------------------------------------


@dataclass
class Scenario:
    """A function's first request: how to prepare it on one side's table, and what it answers."""

    function: str
    request: str
    expected: Any
    prepare: Callable[[str], dict[str, Any]]  # table -> the event (after seeding what it needs)
    calls: str  # the AWS calls both sides make, in words


@dataclass
class Sides:
    function: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    again: list[float] = field(default_factory=list)  # the reference once more: the instrument's scatter
    split: dict[str, list[dict[str, float]]] = field(default_factory=lambda: {"function": [], "reference": []})


class Data:
    """What the first requests read, seeded identically in both sides' tables with the service's
    own items; the requests that change something get a fresh invitation each run."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.serial = 0
        now = stack.now()
        first = ["Hélène", "Jean", "Marie", "Louis", "Camille", "Hugo", "Léa", "Paul"]
        last = ["Dupont-Durand", "Martin", "Bernard", "Petit", "Moreau"]
        self.listed = [
            stack.new_invitation(CLINICIAN, first[i % 8], last[i % 5], now - timedelta(minutes=i))
            for i in range(25)  # 4 of them are a Hélène: the q=hel page
        ]
        self.viewed = self.listed[1]
        accepted = stack.new_invitation(CLINICIAN, "Camille", "Roux", now - timedelta(days=1))
        from invitations.domain.invitation import accept
        from invitations.domain.patient import from_invitation

        self.patient = from_invitation(accepted, now)
        self.accepted = accept(accepted, self.patient.id, now)
        for table in TABLES.values():
            create_table(client, table)
            items = [stack.invitation_item(inv) for inv in [*self.listed, self.accepted]]
            items += [e for inv in [*self.listed, self.accepted] for e in stack.name_items(inv)]
            items.append(stack.patient_item(self.patient))
            stack.seed(client, table, items)

    def fresh(self, table: str, *, overdue: bool = False) -> Any:
        self.serial += 1
        sent = stack.now() - (timedelta(days=15) if overdue else timedelta(hours=2))
        inv = stack.new_invitation(CLINICIAN, "Jeanne", f"Fontaine-{self.serial}", sent)
        items = [stack.invitation_item(inv), *stack.name_items(inv)]
        stack.seed(self.client, table, items)
        return inv

    def scenarios(self) -> list[Scenario]:
        token = stack.signer().link_token(self.viewed.id, self.viewed.link_version)
        sample = json.loads((EVENTS_DIR / "accept_invite.json").read_text())
        browser = sample["headers"]["accept"]
        send_body = json.loads(json.loads((EVENTS_DIR / "send_invite.json").read_text())["body"])
        send_bodies = ({**send_body, "email": f"cold.{n:04d}@example.org"} for n in itertools.count())
        scheduled = json.loads((EVENTS_DIR / "expire_invites.json").read_text())
        inv_path = "/invitations/{invitation_id}"

        def resend(table: str) -> dict[str, Any]:
            path = {"invitation_id": self.fresh(table).id}
            return api_event("manage_invite", "POST", inv_path + "/resend", path, clinician=CLINICIAN)

        def expire(table: str) -> dict[str, Any]:
            self.fresh(table, overdue=True)
            return scheduled

        patient = {"patient_id": self.patient.id}
        return [
            Scenario(
                "accept_invite",
                "GET /i/{token} (browser)",
                200,
                lambda _: api_event("accept_invite", "GET", "/i/{token}", {"token": token}, accept=browser),
                "GetItem; the secret",
            ),
            Scenario(
                "expire_invites",
                "scheduled run, 1 overdue",
                {"expired": 1, "complete": True},
                expire,
                "4 Query (Due shards); TransactWriteItems (with outbox + history)",
            ),
            Scenario(
                "list_invites",
                "GET /invitations?q=hel&limit=20",
                200,
                lambda _: api_event(
                    "list_invites", "GET", "/invitations", clinician=CLINICIAN, query={"q": "hel", "limit": "20"}
                ),
                "Query (name entries); BatchGetItem (4); the secret",
            ),
            Scenario(
                "manage_invite",
                "POST /invitations/{id}/resend",
                200,
                resend,
                "GetItem x2 (invitation, send counter); TransactWriteItems (with outbox + history); the secret",
            ),
            Scenario(
                "patients",
                "GET /patients/{id}",
                200,
                lambda _: api_event("patients", "GET", "/patients/{patient_id}", patient, clinician=CLINICIAN),
                "GetItem",
            ),
            Scenario(
                "send_invite",
                "POST /invitations (email)",
                201,
                # A new recipient each run: the service takes 3 invitations per recipient a day.
                lambda _: api_event("send_invite", "POST", "/invitations", clinician=CLINICIAN, body=next(send_bodies)),
                "GetItem x2 (send counters); TransactWriteItems (with outbox + history); the secret",
            ),
        ]


# -- the children ----------------------------------------------------------------------------------


def _env(pycache: Path, pythonpath: Sequence[Path], table: str, dynamodb: str, aws: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_", "POWERTOOLS_"))}
    env.update(function_env(table, dynamodb))
    env["AWS_ENDPOINT_URL"] = aws  # Secrets Manager, SES, SNS, EventBridge: the stub
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the timed runs only read the cache
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    # Both sides flush metrics; requests that publish none warn on stderr, which says nothing here.
    env["PYTHONWARNINGS"] = "ignore:No application metrics to publish"
    return env


def _spawn(code: str, env: dict[str, str], cwd: Path, *args: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, *args, "-c", PRELUDE + code], env=env, cwd=cwd, stdout=subprocess.PIPE)
    assert child.stdout is not None
    line, deadline = b"", started + CHILD_TIMEOUT
    # The handler logs to stdout too (as in Lambda): read until the ready line.
    while not line.startswith(MARK.encode()):
        readable, _, _ = select.select([child.stdout], [], [], max(0.0, deadline - time.perf_counter()))
        line = child.stdout.readline() if readable else b""
        if not line:
            break
    elapsed = time.perf_counter() - started
    if not line:
        child.kill()
    child.wait(timeout=CHILD_TIMEOUT)
    if not line:
        raise RuntimeError(f"cold start child failed (exit {child.returncode}): {code[:100]}")
    return elapsed, json.loads(line[len(MARK) :])


def _import_profile(code: str, env: dict[str, str], cwd: Path, top: int = 12) -> dict[str, float]:
    """`python -X importtime` of a child (its first request included): self time per top-level
    package (ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PRELUDE + code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=CHILD_TIMEOUT,
    )
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        package = name.split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(self_us) / 1e3
    return dict(sorted(((k, round(v, 1)) for k, v in totals.items()), key=lambda kv: -kv[1])[:top])


def uncompiled_layer_packages(built_layer: Path | None) -> list[str] | None:
    """The top-level names the built layer ships without bytecode (None without a build)."""
    if built_layer is None or not built_layer.is_dir():
        return None

    def compiled(path: Path) -> bool:
        cache = path / "__pycache__" if path.is_dir() else path.parent / "__pycache__"
        return any(cache.glob(f"{path.stem}.*.pyc" if path.is_file() else "*.pyc"))

    names = (p for p in built_layer.iterdir() if not p.name.endswith((".dist-info", ".data", ".txt")))
    return sorted(p.name for p in names if p.name != "__pycache__" and not compiled(p))


# -- the run ---------------------------------------------------------------------------------------


def run(bench_stack: Stack, built_layer: Path | None = None) -> list[Row]:
    data = Data(bench_stack.client)
    scenarios = data.scenarios()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp, AwsStub(LINK_SECRET.decode()) as aws:
        cache, cwd = Path(tmp) / "pycache", Path(tmp) / "cwd"
        cwd.mkdir()

        def handler(scenario: Scenario, side: str, event: Any = None) -> tuple[str, dict[str, str]]:
            """The handler module of one side of a function, and its environment (with `event`)."""
            if side == "function":
                module, path = "app", [FUNCTIONS_DIR / scenario.function, LAYER]
            else:
                module, path = f"ref_{scenario.function}", [MINIMAL_DIR]
            env = _env(cache, path, TABLES[side], bench_stack.endpoint, aws.endpoint)
            env["BENCH_EVENT"] = json.dumps(event or {})
            return module, env

        def child(scenario: Scenario, side: str) -> tuple[str, dict[str, str]]:
            """The code and environment of one side of a function (after preparing its request)."""
            module, env = handler(scenario, side, scenario.prepare(TABLES[side]))
            return _answering(module), env

        def timed(scenario: Scenario, side: str, args: Sequence[str] = ()) -> tuple[float, dict[str, Any]]:
            code, env = child(scenario, side)
            seconds, split = _spawn(code, env, cwd, *args)
            if split.get("answer") != scenario.expected:
                raise RuntimeError(f"{scenario.function} ({side}) answered {split.get('answer')!r}")
            return seconds, split

        boto3_env = _env(cache, [], TABLES["function"], bench_stack.endpoint, aws.endpoint)
        boto3_env["BENCH_EVENT"] = "{}"
        say(f"  filling a private bytecode cache ({1 + 2 * len(scenarios)} commands), each side's AWS calls recorded")
        _spawn(BOTO3, {k: v for k, v in boto3_env.items() if k != "PYTHONDONTWRITEBYTECODE"}, cwd)
        calls: dict[str, dict[str, list[Call]]] = {}
        for scenario in scenarios:
            for side in ("function", "reference"):
                code, env = child(scenario, side)
                log = Path(tmp) / f"calls-{scenario.function}-{side}.jsonl"
                env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"BENCH_CALLS": str(log)}
                answer = _spawn(SPY + code, env, cwd)[1].get("answer")
                if answer != scenario.expected:
                    raise RuntimeError(f"{scenario.function} ({side}) answered {answer!r}")
                lines = log.read_text().splitlines() if log.exists() else []
                calls.setdefault(scenario.function, {})[side] = [tuple(json.loads(line)) for line in lines]

        say(f"  {RUNS} rounds: import boto3, then each function, its reference and the reference again, interleaved")
        base: list[float] = []
        sides = {s.function: Sides() for s in scenarios}
        for round_ in range(RUNS):
            base.append(_spawn(BOTO3, boto3_env, cwd)[0])
            for scenario in scenarios:
                for side in ORDERS[round_ % len(ORDERS)]:
                    seconds, split = timed(scenario, "reference" if side == "again" else side)
                    getattr(sides[scenario.function], side).append(seconds)
                    if side != "again":
                        sides[scenario.function].split[side].append(split)

        # The own code's share of the import, interleaved the same way (an info row).
        own: dict[str, dict[str, list[float]]] = {s.function: {"function": [], "reference": []} for s in scenarios}
        # No request is answered: nothing to prepare in the tables.
        for round_ in range(OWN_RUNS):
            for scenario in scenarios:
                for side in ("function", "reference") if round_ % 2 == 0 else ("reference", "function"):
                    module, env = handler(scenario, side)
                    own[scenario.function][side].append(_spawn(_own_import(module), env, cwd)[1]["own_import"])

        profiles = {}
        for scenario in scenarios:
            profiles[scenario.function] = {
                side: _import_profile(*child(scenario, side), cwd) for side in sides[scenario.function].split
            }
        stub_calls = dict(aws.calls)

    rows = [_row(s, sides[s.function], base, profiles[s.function]) for s in scenarios]
    rows.append(_instrument_row({s.function: sides[s.function] for s in scenarios}))
    rows.append(_calls_row(calls))
    b = median(base)
    vs_boto3 = {s.function: median(sides[s.function].function) / b for s in scenarios}
    floor = {s.function: median(sides[s.function].reference) / b for s in scenarios}
    rows.append(
        Row(
            "cold start",
            "info: vs `import boto3` (the old baseline)",
            f"{min(vs_boto3.values()):.2f}-{max(vs_boto3.values()):.2f}x",
            "",
            "info",
            f"import boto3 {b * 1e3:.0f} ms; functions "
            + ", ".join(f"{fn} {r:.2f}x" for fn, r in vs_boto3.items())
            + "; references "
            + f"{min(floor.values()):.2f}-{max(floor.values()):.2f}x",
            {"boto3_ms": [round(x * 1e3, 1) for x in base], "functions": vs_boto3, "references": floor},
        )
    )
    rows.append(_own_code_row(own))
    rows.append(_bytecode_row(built_layer))
    rows[-3].data["stub_calls"] = stub_calls
    return rows


def _row(scenario: Scenario, sides: Sides, base: list[float], profiles: dict[str, Any]) -> Row:
    t, r = median(sides.function), median(sides.reference)
    low, high = ratio_interval(sides.function, sides.reference)

    def part(side: str, name: str) -> float:
        return median([p[name] for p in sides.split[side]]) * 1e3

    return Row(
        "cold start",
        f"{scenario.function}: {scenario.request}",
        f"{t / r:.2f}x",
        f"<= {TARGET}x",
        check(t / r <= TARGET),
        f"{t * 1e3:.0f} ms vs reference {r * 1e3:.0f} ms, n={len(sides.function)}; 90% interval "
        f"{low:.2f}-{high:.2f}x; in the child: import {part('function', 'import'):.0f} vs "
        f"{part('reference', 'import'):.0f} ms, first request {part('function', 'first_request'):.0f} vs "
        f"{part('reference', 'first_request'):.0f} ms; calls: {scenario.calls}",
        {
            "ratio": t / r,
            "interval_90": [low, high],
            "vs_import_boto3": t / median(base),
            "function_ms": [round(x * 1e3, 1) for x in sides.function],
            "reference_ms": [round(x * 1e3, 1) for x in sides.reference],
            "function_split_ms": {k: round(part("function", k), 1) for k in ("import", "first_request")},
            "reference_split_ms": {k: round(part("reference", k), 1) for k in ("import", "first_request")},
            "importtime_self_ms": profiles,
        },
    )


def _instrument_row(sides: dict[str, Sides]) -> Row:
    """Each reference against itself, timed in the same rounds as the functions: what a ratio of
    medians reads on this machine when nothing differs. A function's ratio nearer its target than
    this scatter is not told apart from it."""
    ratios = {fn: median(s.again) / median(s.reference) for fn, s in sides.items()}
    intervals = {fn: ratio_interval(s.again, s.reference) for fn, s in sides.items()}
    spread = max(abs(r - 1) for r in ratios.values())
    return Row(
        "cold start",
        "info: the instrument (each reference against itself)",
        f"{min(ratios.values()):.2f}-{max(ratios.values()):.2f}x",
        "",
        "info",
        f"nothing differs, so 1.00x but for noise: the farthest of {len(ratios)} is {spread:.0%} off, "
        f"n={len(next(iter(sides.values())).again)}; "
        + ", ".join(f"{fn} {r:.2f}x ({intervals[fn][0]:.2f}-{intervals[fn][1]:.2f}x)" for fn, r in ratios.items()),
        {
            "ratios": ratios,
            "intervals_90": intervals,
            "again_ms": {fn: [round(x * 1e3, 1) for x in s.again] for fn, s in sides.items()},
        },
    )


def _calls_row(calls: dict[str, dict[str, list[Call]]]) -> Row:
    """Whether each reference still makes its function's AWS calls, writing the same items with the
    same attributes (DynamoDB does more work per attribute and per index entry)."""
    differ = {fn: call_differences(sides["function"], sides["reference"]) for fn, sides in calls.items()}
    differing = {fn: d for fn, d in differ.items() if d}
    counts = ", ".join(f"{fn} {len(sides['function'])}" for fn, sides in calls.items())
    return Row(
        "cold start",
        "the references make the functions' AWS calls",
        "same" if not differing else f"{len(differing)} differ",
        "same calls and item attributes",
        check(not differing),
        f"operations, request parameters, items read and written (kind, attribute names), in any order; "
        f"calls per first request: {counts}"
        if not differing
        else "; ".join(f"{fn}: " + " | ".join(d) for fn, d in differing.items()),
        {
            "differences": differ,
            "shapes": {fn: [_shown(shape) for shape in call_shapes(sides["function"])] for fn, sides in calls.items()},
        },
    )


def _own_code_row(own: dict[str, dict[str, list[float]]]) -> Row:
    ms = {fn: {side: median(xs) * 1e3 for side, xs in sides.items()} for fn, sides in own.items()}
    return Row(
        "cold start",
        "info: the handler module's own import (shared packages already imported)",
        f"{min(m['function'] for m in ms.values()):.0f}-{max(m['function'] for m in ms.values()):.0f} ms",
        "",
        "info",
        ", ".join(f"{fn} {m['function']:.0f} vs {m['reference']:.0f} ms" for fn, m in ms.items())
        + f" (function vs reference, median of {OWN_RUNS}): the project's modules, dataclasses and models",
        {
            "own_import_ms": {
                fn: {side: [round(x * 1e3, 2) for x in xs] for side, xs in sides.items()} for fn, sides in own.items()
            }
        },
    )


def _bytecode_row(built_layer: Path | None) -> Row:
    """The timed runs have every .pyc; Lambda's /opt is read-only, so a module the built layer
    ships without one would be compiled again at every cold start."""
    missing = uncompiled_layer_packages(built_layer)
    if missing is None:
        return Row(
            "cold start",
            "layer bytecode (as built)",
            "not built",
            "every package's .pyc",
            "skip",
            "run with the sizes section (sam build) to check what the layer ships",
        )
    return Row(
        "cold start",
        "layer bytecode (as built)",
        "all compiled" if not missing else f"{len(missing)} without .pyc",
        "every package's .pyc",
        check(not missing),
        "the built layer ships every top-level package with its bytecode, so the timed (compiled) runs are "
        "what Lambda runs"
        if not missing
        else "compiled again at every cold start: " + ", ".join(missing),
        {"uncompiled": missing},
    )
