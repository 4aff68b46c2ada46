"""`make mutation`: cosmic-ray over the domain and the use cases, against the fast unit suite.

Each module is mutated in a copy of the tree of its own (cosmic-ray edits files in place), and
the modules run side by side, one per core, the biggest first. The last lines printed are the
surviving mutants and `mutation score: N%` (killed / total; mutants listed in equivalent.toml,
each with its reason, are left out of the total).

    python -m tests.mutation.run [--jobs N] [--module NAME ...]

`--module rules --module dispatch` mutates only the modules whose path contains one of the
names (while writing tests for one module); without it, every module is mutated.
"""

import argparse
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
]
# What the unit tests need, copied into each module's tree.
COPIED = [LAYER, "tests/__init__.py", "tests/fakes.py", "tests/unit/__init__.py", *UNIT_TESTS]
COPIED += ["local/__init__.py", "local/template.py", "template.yaml", "pyproject.toml"]
EQUIVALENT = Path(__file__).with_name("equivalent.toml")
# The unit suite runs in about a second; a mutant still running after this loops for ever (killed).
TIMEOUT_SECONDS = 20.0


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


def _modules(names: list[str]) -> list[str]:
    """Every mutated module (package docstrings aside), biggest first, those matching `names`."""
    found = []
    for item in MUTATED:
        path = ROOT / item
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        found += [f for f in files if f.name != "__init__.py"]
    chosen = [f for f in found if not names or any(n in str(f.relative_to(ROOT)) for n in names)]
    return [str(f.relative_to(ROOT)) for f in sorted(chosen, key=lambda f: f.stat().st_size, reverse=True)]


def _tree(module: str) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"mutation-{Path(module).stem}-"))
    for item in COPIED:
        source, target = ROOT / item, work / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return work


def _config(module: str) -> str:
    test = [sys.executable, "-m", "pytest", "-x", "-q", "--noconftest", "-p", "no:cacheprovider", *UNIT_TESTS]
    return (
        "[cosmic-ray]\n"
        f'module-path = ["{module}"]\n'
        f"timeout = {TIMEOUT_SECONDS}\n"
        "excluded-modules = []\n"
        f'test-command = "{" ".join(test)}"\n\n'
        '[cosmic-ray.distributor]\nname = "local"\n'
    )


def _run_module(module: str) -> list[Mutant]:
    from cosmic_ray.work_db import WorkDB, use_db

    started = time.monotonic()
    work = _tree(module)
    (work / "cr.toml").write_text(_config(module))
    # Plugins of the dev venv (playwright, schemathesis...) are not needed: a faster startup.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
    for step in (["init", "cr.toml", "session.sqlite"], ["exec", "cr.toml", "session.sqlite"]):
        subprocess.run([*cosmic, *step], cwd=work, env=env, check=True)
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
    survived = sum(m.outcome == "survived" for m in found)
    print(f"{module}: {len(found)} mutants, {survived} survived ({time.monotonic() - started:.0f} s)", flush=True)
    return found


def _equivalent() -> dict[tuple[str, int, str, int], str]:
    listed = tomllib.loads(EQUIVALENT.read_text()).get("equivalent", []) if EQUIVALENT.exists() else []
    reasons = {}
    for entry in listed:
        if not entry.get("reason", "").strip():
            raise SystemExit(f"{EQUIVALENT.name}: every equivalent mutant needs a reason: {entry}")
        reasons[(entry["module"], entry["line"], entry["operator"], entry.get("occurrence", 0))] = entry["reason"]
    return reasons


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="modules mutated at once")
    parser.add_argument("--module", action="append", default=[], help="only modules whose path contains this")
    args = parser.parse_args()
    modules = _modules(args.module)
    if not modules:
        raise SystemExit(f"no module matches {args.module}")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        mutants = [m for found in pool.map(_run_module, modules) for m in found]
    equivalent = _equivalent()
    counted = [m for m in mutants if (m.module, m.line, m.operator, m.occurrence) not in equivalent]
    killed = [m for m in counted if m.outcome in ("killed", "incompetent")]  # incompetent: the mutant breaks the module
    survived = sorted((m for m in counted if m not in killed), key=lambda m: (m.module, m.line, m.operator))
    print(f"\n{len(mutants)} mutants, {len(mutants) - len(counted)} equivalent (see {EQUIVALENT.name}).")
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
