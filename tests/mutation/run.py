"""`make mutation`: cosmic-ray over the domain and the use cases, against the fast unit suite.

Each module is mutated in a copy of the tree of its own (cosmic-ray edits files in place), and
the modules run side by side, one per core, the biggest first. The last lines printed are the
surviving mutants and `mutation score: N%` (killed / total; mutants listed in equivalent.toml,
each with its reason, are left out of the total).

    python -m tests.mutation.run [--jobs N] [--module NAME ...] [--at REF]

`--module rules --module dispatch` mutates only the modules whose path contains one of the
names (while writing tests for one module); without it, every module is mutated. `--at HEAD`
takes the code and the tests as committed (git), not as they are in the working tree (which may
hold someone's unfinished change).

Each tree's unit suite first runs once unmutated: it must pass (else every mutant would look
killed), and it compiles every module into a bytecode cache of the tree's own
(PYTHONPYCACHEPREFIX), which the mutants' runs then only read: a run does not recompile pytest
and the packages at each mutant. The copied sources are dated in the past, so a mutated module
(written now) never matches its cached bytecode.
"""

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAYER = "layers/shared/invitations"
# What is mutated: the rules and the use cases (not adapters, not presenters).
MUTATED = [f"{LAYER}/domain", f"{LAYER}/use_cases", f"{LAYER}/read_model.py"]
UNIT_TESTS = [
    "tests/unit/test_rules.py",
    "tests/unit/test_use_cases.py",
    "tests/unit/test_use_case_edges.py",
    "tests/unit/test_dispatcher.py",
    "tests/unit/test_read_model.py",
    "tests/unit/test_send_limits.py",
    "tests/unit/test_values.py",
    "tests/unit/test_domain_edges.py",
    "tests/unit/test_delivery_reports.py",
    "tests/unit/test_delivery_edges.py",
    "tests/unit/test_reminders.py",
    "tests/unit/test_history_retention.py",
]
# Left out of each mutant's run, each with its reason (they still run in `make test`):
DESELECTED = [
    # Parses template.yaml and builds Settings: most of the suite's time, for the deployment's
    # defaults; the domain's own numbers are checked by test_the_product_promises_14_days_....
    "--deselect=tests/unit/test_rules.py::test_deployments_default_to_the_domains_numbers",
]
# What the unit tests need, copied into each module's tree.
COPIED = [LAYER, "tests/__init__.py", "tests/fakes.py", "tests/unit/__init__.py", *UNIT_TESTS]
COPIED += ["local/__init__.py", "local/template.py", "template.yaml", "pyproject.toml"]
EQUIVALENT = Path(__file__).with_name("equivalent.toml")
# The unit suite runs in about a second; a mutant still running after this loops for ever (killed).
TIMEOUT_SECONDS = 20.0
FORKSERVER = Path(__file__).with_name("forkserver.py")
PAST = 946684800  # 2000-01-01: the copied sources' modification time


@dataclass(frozen=True)
class Mutant:
    module: str  # relative to the layer's package folder
    line: int
    operator: str
    occurrence: int
    function: str
    outcome: str  # killed | survived | incompetent

    def describe(self) -> str:
        return f"{self.module}:{self.line} {self.operator} #{self.occurrence} in {self.function}"


def _modules(names: list[str], layer_at: str | None) -> list[str]:
    """Every mutated module (package docstrings aside), biggest first, those matching `names`."""
    if layer_at:
        listed = subprocess.run(
            ["git", "ls-tree", "-r", "-l", layer_at, *MUTATED], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.splitlines()
        sizes = {line.split("\t")[1]: int(line.split()[3]) for line in listed}
    else:
        files = [f for item in MUTATED for f in ([ROOT / item] if item.endswith(".py") else (ROOT / item).glob("*.py"))]
        sizes = {str(f.relative_to(ROOT)): f.stat().st_size for f in files}
    chosen = [
        path
        for path in sizes
        if path.endswith(".py")
        and not path.endswith("/__init__.py")
        and (not names or any(name in path for name in names))
    ]
    return sorted(chosen, key=lambda path: sizes[path], reverse=True)


def _tree(module: str, layer_at: str | None) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"mutation-{Path(module).stem}-"))
    for item in COPIED:
        source, target = ROOT / item, work / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    if layer_at:
        shutil.rmtree(work / LAYER)
        archive = subprocess.run(["git", "archive", layer_at, *COPIED], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive.stdout, check=True)
    for path in work.rglob("*"):
        os.utime(path, (PAST, PAST))
    return work


def _pytest_args() -> list[str]:
    return ["-x", "-q", "--noconftest", "-p", "no:cacheprovider", *DESELECTED, *UNIT_TESTS]


def _test_command(work: Path, fork: bool) -> list[str]:
    if not fork:
        return [sys.executable, "-m", "pytest", *_pytest_args()]
    return [sys.executable, str(FORKSERVER), "--client", str(work / "fork.sock"), *_pytest_args()]


def _env(work: Path) -> dict[str, str]:
    # Plugins of the dev venv (playwright, schemathesis...) are not needed: a faster startup.
    return {
        **os.environ,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPYCACHEPREFIX": str(work / ".pycache"),
    }


def _baseline(module: str, work: Path) -> None:
    """The unmutated suite passes in this tree; its run fills the tree's bytecode cache and lists
    the packages it imports (for the fork server)."""
    env = {**_env(work)}
    del env["PYTHONDONTWRITEBYTECODE"]
    listing = [sys.executable, str(FORKSERVER), "--list", str(work / "packages.json"), *_pytest_args()]
    run = subprocess.run(listing, cwd=work, env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{module}: the unit suite fails before any mutation:\n{run.stdout[-3000:]}")


def _fork_server(work: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(FORKSERVER), str(work / "fork.sock"), str(work / "packages.json")]
    server = subprocess.Popen([*command, str(TIMEOUT_SECONDS - 2)], cwd=work, env=_env(work))
    deadline = time.monotonic() + 60
    while not (work / "fork.sock").exists():
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{work}: the fork server did not start")
        time.sleep(0.05)
    return server


def _declares_only(node: ast.ClassDef) -> bool:
    """A Protocol (`Protocol`, `typing.Protocol`, `Protocol[T]`) whose members have no code: a
    docstring, annotations, and methods whose body is a docstring or `...` (a default method body
    that an implementation inherits runs: it is mutated)."""

    def is_protocol(base: ast.expr) -> bool:
        base = base.value if isinstance(base, ast.Subscript) else base
        return (isinstance(base, ast.Name) and base.id == "Protocol") or (
            isinstance(base, ast.Attribute) and base.attr == "Protocol"
        )

    def no_code(statement: ast.stmt) -> bool:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            return True  # a docstring or `...`
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            return all(no_code(inner) for inner in statement.body)
        return isinstance(statement, ast.AnnAssign) and statement.value is None

    return any(is_protocol(base) for base in node.bases) and all(no_code(s) for s in node.body)


def _annotations(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The spans (line, character) of the module's annotations."""
    lines = source.splitlines()

    def char(line: int, offset: int) -> int:  # ast counts UTF-8 bytes, cosmic-ray characters
        return len(lines[line - 1].encode()[:offset].decode(errors="ignore"))

    def span(first: ast.AST, last: ast.AST) -> tuple[tuple[int, int], tuple[int, int]]:
        """From where `first` starts to where `last` ends."""
        assert last.end_lineno is not None and last.end_col_offset is not None
        start = (first.lineno, char(first.lineno, first.col_offset))
        return start, (last.end_lineno, char(last.end_lineno, last.end_col_offset))

    spans = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation:
            spans.append(span(node.annotation, node.annotation))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            spans.append(span(node.returns, node.returns))
        if isinstance(node, ast.ClassDef) and _declares_only(node):
            # A Protocol that only declares (use_cases.base.Services) is a type: mypy reads it,
            # nothing runs its body.
            spans.append(span(node, node))
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            # `if TYPE_CHECKING:` (imports for annotations only) from `if` to its colon.
            spans.append(span(node, node.test))
    return spans


def _skip_annotations(work: Path, module: str) -> None:
    """Mutants inside an annotation (`str | None` -> `str + None`) or a Protocol's body change no
    behaviour: the layer's annotations and Protocols are types for mypy, either never evaluated
    (`from __future__ import annotations`) or failing the import at once. So with
    `if not TYPE_CHECKING:`: its imports serve annotations only, and running them loads a module
    early (tests/unit/test_cold_imports.py, outside this suite, holds what is loaded) or fails the
    import at once on a cycle. They are marked skipped
    and left out of the score."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = _annotations((work / module).read_text())
    with use_db(str(work / "session.sqlite"), WorkDB.Mode.open) as db:
        for item in list(db.pending_work_items):
            position = tuple(item.mutations[0].start_pos)
            if any(start <= position < end for start, end in spans):
                db.set_result(item.job_id, WorkResult(output="in an annotation", worker_outcome=WorkerOutcome.SKIPPED))


def _config(module: str, work: Path, fork: bool) -> str:
    test = _test_command(work, fork)
    return (
        "[cosmic-ray]\n"
        f'module-path = ["{module}"]\n'
        f"timeout = {TIMEOUT_SECONDS}\n"
        "excluded-modules = []\n"
        f'test-command = "{" ".join(test)}"\n\n'
        '[cosmic-ray.distributor]\nname = "local"\n'
    )


def _run_module(module: str, layer_at: str | None, fork: bool) -> list[Mutant]:
    from cosmic_ray.work_db import WorkDB, use_db

    started = time.monotonic()
    work = _tree(module, layer_at)
    _baseline(module, work)
    (work / "cr.toml").write_text(_config(module, work, fork))
    env = _env(work)
    cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
    server = _fork_server(work) if fork else None
    try:
        subprocess.run([*cosmic, "init", "cr.toml", "session.sqlite"], cwd=work, env=env, check=True)
        _skip_annotations(work, module)
        subprocess.run([*cosmic, "exec", "cr.toml", "session.sqlite"], cwd=work, env=env, check=True)
    finally:
        if server:
            server.terminate()
            server.wait()
    found = []
    with use_db(str(work / "session.sqlite"), WorkDB.Mode.open) as db:
        for item, result in db.completed_work_items:
            spec = item.mutations[0]
            outcome = result.test_outcome.value if result.test_outcome else result.worker_outcome.value
            name = str(spec.module_path).removeprefix(f"{LAYER}/")
            found.append(
                Mutant(
                    name, spec.start_pos[0], spec.operator_name, spec.occurrence, spec.definition_name or "", outcome
                )
            )
    shutil.rmtree(work, ignore_errors=True)
    survived = [m for m in found if m.outcome == "survived"]
    elapsed = time.monotonic() - started
    tried = sum(m.outcome != "skipped" for m in found)
    lines = [f"{module}: {tried} mutants, {len(survived)} survived ({elapsed:.0f} s)"]
    print("\n    ".join(lines + [m.describe() for m in survived]), flush=True)
    return found


def _source(module: str, layer_at: str | None) -> str:
    path = f"{LAYER}/{module}"
    if layer_at:
        return subprocess.run(
            ["git", "show", f"{layer_at}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
    return (ROOT / path).read_text()


def definition_of(source: str, line: int) -> str:
    """The top-level function (or `Class.method`) a line is in, "" at module level."""
    for node in ast.parse(source).body:
        inner = node.body if isinstance(node, ast.ClassDef) else [node]
        for definition in inner:
            end = definition.end_lineno or definition.lineno
            if isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef) and definition.lineno <= line <= end:
                return definition.name if definition is node else f"{node.name}.{definition.name}"  # type: ignore[attr-defined]
    return ""


def anchored_line(entry: dict[str, Any], source: str) -> int:
    """The line an equivalent mutant is on now: the entry's `line` while it still reads `source`
    in the definition it names (`within`), else the one line of that definition that does (the
    code above it moved). An entry whose line is gone or ambiguous stops the run: its reason must
    be checked again, not silently kept."""
    lines = [text.strip() for text in source.splitlines()]
    line, wanted, within = entry["line"], entry["source"].strip(), entry.get("within", "")

    def matches(number: int) -> bool:
        return lines[number - 1] == wanted and definition_of(source, number) == within

    if 0 < line <= len(lines) and matches(line):
        return int(line)
    found = [number for number in range(1, len(lines) + 1) if matches(number)]
    if len(found) != 1:
        where = "is gone" if not found else f"is on lines {found}"
        raise SystemExit(f"{EQUIVALENT.name}: {entry['module']}:{line} `{wanted}` in {within or 'the module'} {where}")
    return found[0]


def _equivalent(layer_at: str | None = None) -> dict[tuple[str, int, str, int], str]:
    listed = tomllib.loads(EQUIVALENT.read_text()).get("equivalent", []) if EQUIVALENT.exists() else []
    reasons, sources = {}, {}
    for entry in listed:
        if not entry.get("reason", "").strip() or not entry.get("source", "").strip():
            raise SystemExit(f"{EQUIVALENT.name}: every equivalent mutant needs its source line and a reason: {entry}")
        module = entry["module"]
        if module not in sources:
            sources[module] = _source(module, layer_at)
        line = anchored_line(entry, sources[module])
        reasons[(module, line, entry["operator"], entry.get("occurrence", 0))] = entry["reason"]
    return reasons


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="modules mutated at once")
    parser.add_argument("--module", action="append", default=[], help="only modules whose path contains this")
    parser.add_argument("--no-fork", dest="fork", action="store_false", help="a new pytest process per mutant")
    parser.add_argument("--at", dest="layer_at", metavar="REF", help="the code and tests as committed at REF (git)")
    args = parser.parse_args()
    modules = _modules(args.module, args.layer_at)
    if not modules:
        raise SystemExit(f"no module matches {args.module}")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = pool.map(_run_module, modules, [args.layer_at] * len(modules), [args.fork] * len(modules))
        everything = [m for found in runs for m in found]
    mutants = [m for m in everything if m.outcome != "skipped"]
    equivalent = _equivalent(args.layer_at)
    counted = [m for m in mutants if (m.module, m.line, m.operator, m.occurrence) not in equivalent]
    killed = [m for m in counted if m.outcome in ("killed", "incompetent")]  # incompetent: the mutant breaks the module
    survived = sorted((m for m in counted if m not in killed), key=lambda m: (m.module, m.line, m.operator))
    skipped = len(everything) - len(mutants)
    print(f"\n{len(mutants)} mutants ({skipped} more in annotations, skipped), ", end="")
    print(f"{len(mutants) - len(counted)} equivalent (see {EQUIVALENT.name}).")
    by_module = Counter(m.module for m in survived)
    print(f"surviving mutants: {len(survived)} ({', '.join(f'{k} {v}' for k, v in by_module.most_common())})")
    for mutant in survived:
        print(f"  {mutant.describe()} ({mutant.outcome})")
    score = 100 * len(killed) / len(counted) if counted else 100.0
    print(f"{len(modules)} modules in {time.monotonic() - started:.0f} s")
    print(f"mutation score: {score:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
