"""Cold start: a fresh interpreter importing a function's handler module and building what it builds
(runtime.get_service(): settings, the DynamoDB client, the service), against a fresh interpreter
doing `import boto3` alone. Both sides are timed from spawn until the child says it is ready; the
child then leaves with os._exit, so interpreter teardown (which Lambda never pays) is not counted.

Two bytecode situations are measured:
  * compiled: every module has its .pyc (a warm-up run of each command fills a private cache);
  * as built: what `sam build` ships. Lambda's /opt is read-only, so a module the built layer
    ships without its .pyc is compiled again at every cold start (simulated: its bytecode is
    removed from the cache); the function's own app.py always is; boto3 and the standard library
    keep their .pyc, as the Lambda runtime's are precompiled.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import LAYER, ROOT
from bench.report import Row, check, median, say
from bench.stack import function_env

RUNS = 9
TARGET = 1.3
CHILD_TIMEOUT = 120  # seconds: a child that never gets ready fails the run instead of hanging it
FUNCTIONS_DIR = ROOT / "functions"
SITE_PACKAGES = Path(next(p for p in sys.path if p.endswith("site-packages")))

# What each child runs; it prints one JSON line when ready, then exits without teardown.
BOTO3 = "import time; t0 = time.perf_counter(); import boto3; t1 = time.perf_counter(); ready({'import': t1 - t0})"
BOTO3_CLIENT = (
    "import time; t0 = time.perf_counter(); import boto3; t1 = time.perf_counter(); "
    "boto3.session.Session().client('dynamodb'); t2 = time.perf_counter(); "
    "ready({'import': t1 - t0, 'build': t2 - t1})"
)
# The framework floor: what the handlers import from third parties before any of their own code.
FRAMEWORK = (
    "import time; t0 = time.perf_counter(); import boto3; "
    "import aws_lambda_powertools.event_handler.openapi.params, aws_lambda_powertools.logging, "
    "aws_lambda_powertools.metrics; t1 = time.perf_counter(); ready({'import': t1 - t0})"
)
REFERENCES = (
    ("reference: import boto3 + DynamoDB client", BOTO3_CLIENT, "what creating the one client costs on its own"),
    (
        "reference: boto3 + Powertools resolver, validation, logger, metrics",
        FRAMEWORK,
        "the third-party floor under every handler",
    ),
)
HANDLER = (
    "import time; t0 = time.perf_counter(); import app; t1 = time.perf_counter(); "
    "from invitations import runtime; runtime.get_service(); t2 = time.perf_counter(); "
    "ready({'import': t1 - t0, 'build': t2 - t1})"
)
PRELUDE = (
    "import os, sys, json\n"
    "def ready(parts):\n"
    "    sys.stdout.write(json.dumps(parts) + '\\n'); sys.stdout.flush(); os._exit(0)\n"
)


def _env(pycache: Path, pythonpath: Sequence[Path], endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AWS_"))}
    env.update(function_env("invitations-bench", endpoint))
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # the timed runs only read the cache
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    return env


def _spawn(code: str, env: dict[str, str], cwd: Path) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", PRELUDE + code], env=env, cwd=cwd, stdout=subprocess.PIPE)
    assert child.stdout is not None
    readable, _, _ = select.select([child.stdout], [], [], CHILD_TIMEOUT)
    line = child.stdout.readline() if readable else b""
    elapsed = time.perf_counter() - started
    if not line:
        child.kill()
    child.wait(timeout=CHILD_TIMEOUT)
    if not line:
        raise RuntimeError(f"cold start child failed (exit {child.returncode}): {code[:80]}")
    return elapsed, json.loads(line)


def _warm_cache(commands: Sequence[tuple[str, dict[str, str]]], cwd: Path) -> None:
    """One run of each command with bytecode writing on: every .pyc lands in PYTHONPYCACHEPREFIX."""
    for code, env in commands:
        writing = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run(
            [sys.executable, "-c", PRELUDE + code],
            env=writing,
            cwd=cwd,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=CHILD_TIMEOUT,
        )


def _mirror(cache: Path, source: Path) -> Path:
    """Where PYTHONPYCACHEPREFIX keeps the bytecode of the sources under `source`."""
    return cache / str(source.resolve()).lstrip("/")


def _as_built(compiled: Path, uncompiled: Sequence[str], target: Path) -> None:
    """A copy of the compiled cache without the .pyc of what the build ships uncompiled: those of
    the layer's top-level names, and the functions' own code."""
    shutil.copytree(compiled, target)
    site = _mirror(target, SITE_PACKAGES)
    for name in uncompiled:
        module = name.removesuffix(".py")
        if module == "invitations":  # the project's package: imported from the source tree
            shutil.rmtree(_mirror(target, LAYER), ignore_errors=True)
        shutil.rmtree(site / module, ignore_errors=True)  # a package
        for pyc in site.glob(f"{module}.*.pyc"):  # a single-module distribution (typing_extensions)
            pyc.unlink()
    shutil.rmtree(_mirror(target, FUNCTIONS_DIR), ignore_errors=True)


def _import_profile(env: dict[str, str], cwd: Path, top: int = 12) -> dict[str, float]:
    """`python -X importtime` of the handler: self time summed per top-level package (ms)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PRELUDE + HANDLER],
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


def uncompiled_layer_packages(built_layer: Path | None) -> list[str]:
    """The top-level names the built layer ships without bytecode (without a build: all of the
    layer's, as the python3.13 build method ships them)."""
    if built_layer is None or not built_layer.is_dir():
        return [
            "aws_lambda_powertools",
            "pydantic",
            "pydantic_core",
            "email_validator",
            "phonenumbers",
            "jmespath",
            "invitations",
        ]

    def compiled(path: Path) -> bool:
        cache = path / "__pycache__" if path.is_dir() else path.parent / "__pycache__"
        return any(cache.glob(f"{path.stem}.*.pyc" if path.is_file() else "*.pyc"))

    names = (p for p in built_layer.iterdir() if not p.name.endswith((".dist-info", ".data", ".txt")))
    return sorted(p.name for p in names if p.name != "__pycache__" and not compiled(p))


def run(endpoint: str = "http://127.0.0.1:9", built_layer: Path | None = None) -> list[Row]:
    functions = sorted(p.name for p in FUNCTIONS_DIR.iterdir() if (p / "app.py").is_file())
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        compiled, as_built, cwd = Path(tmp) / "compiled", Path(tmp) / "as-built", Path(tmp) / "cwd"
        cwd.mkdir()

        def env(cache: Path, fn: str | None = None) -> dict[str, str]:
            return _env(cache, [FUNCTIONS_DIR / fn, LAYER] if fn else [], endpoint)

        warmups = [(BOTO3, env(compiled))] + [(code, env(compiled)) for _, code, _ in REFERENCES]
        warmups += [(HANDLER, env(compiled, fn)) for fn in functions]
        say(f"  filling a private bytecode cache ({len(warmups)} commands)")
        _warm_cache(warmups, cwd)
        _as_built(compiled, uncompiled_layer_packages(built_layer), as_built)

        rows: list[Row] = []
        for mode, cache in (("compiled", compiled), ("as built", as_built)):
            say(f"  {mode}: {RUNS} runs of each function and of `import boto3`, interleaved")
            # The baseline is a function without the layer: boto3 keeps its bytecode in both modes.
            base: list[float] = []
            references: dict[str, list[float]] = {n: [] for n, _, _ in REFERENCES} if mode == "compiled" else {}
            timings: dict[str, list[float]] = {fn: [] for fn in functions}
            parts: dict[str, list[dict[str, float]]] = {fn: [] for fn in functions}
            for _ in range(RUNS):
                base.append(_spawn(BOTO3, env(compiled), cwd)[0])
                for name, code, _ in REFERENCES:
                    if name in references:
                        references[name].append(_spawn(code, env(compiled), cwd)[0])
                for fn in functions:
                    seconds, split = _spawn(HANDLER, env(cache, fn), cwd)
                    timings[fn].append(seconds)
                    parts[fn].append(split)
            b = median(base)
            for fn in functions:
                row = _row(fn, mode, timings[fn], base, parts[fn])
                if mode == "compiled":
                    row.data["importtime_self_ms"] = _import_profile(env(compiled, fn), cwd)
                rows.append(row)
            for name, _, why in REFERENCES:
                if name in references:
                    r = median(references[name])
                    rows.append(
                        Row(
                            "cold start",
                            name,
                            f"{r / b:.2f}x",
                            "",
                            "info",
                            f"{r * 1e3:.0f} ms vs {b * 1e3:.0f} ms: {why}",
                            {"ratio": r / b, "ms": [round(x * 1e3, 1) for x in references[name]]},
                        )
                    )
    return rows


def _row(fn: str, mode: str, runs: list[float], base: list[float], parts: list[dict[str, float]]) -> Row:
    t, b = median(runs), median(base)
    imp, build = median([p["import"] for p in parts]), median([p["build"] for p in parts])
    compiled = mode == "compiled"
    return Row(
        "cold start",
        f"{fn} ({mode})",
        f"{t / b:.2f}x",
        f"<= {TARGET}x" if compiled else "report",
        check(t / b <= TARGET) if compiled else "info",
        f"{t * 1e3:.0f} ms vs {b * 1e3:.0f} ms; in the child: import app {imp * 1e3:.0f} ms (boto3 included), "
        f"get_service {build * 1e3:.0f} ms",
        {
            "ratio": t / b,
            "mode": mode,
            "handler_ms": [round(x * 1e3, 1) for x in runs],
            "boto3_ms": [round(x * 1e3, 1) for x in base],
            "import_app_ms": round(imp * 1e3, 1),
            "get_service_ms": round(build * 1e3, 1),
        },
    )
