"""Sizes of what `sam build` produces: the shared layer and each function, unzipped, and a check
that boto3/botocore (provided by the Lambda runtime) are not packaged.

The build runs in a private temporary folder (its own build, cache and working directories), so
that it never touches the project's .aws-sam/ that `make build` uses."""

import os
import shutil
import subprocess
from pathlib import Path

from bench import ROOT
from bench.report import Row, check, say

# Like the Makefile: the project's own SAM CLI first, then one on PATH or in ~/.local/bin.
SAM_CANDIDATES = [ROOT / ".tools" / "bin" / "sam", Path.home() / ".local" / "bin" / "sam"]
FORBIDDEN = ("boto3", "botocore")
TOP_PACKAGES = 5


def sam() -> str | None:
    for candidate in SAM_CANDIDATES:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("sam")


def python313_dir() -> str | None:
    """sam build needs python3.13 on PATH (the Makefile's PY313: pyenv's, or any on PATH)."""
    for candidate in sorted((Path.home() / ".pyenv" / "versions").glob("3.13*/bin/python3.13"), reverse=True):
        return str(candidate.parent)
    found = shutil.which("python3.13")
    return str(Path(found).parent) if found else None


def build(workdir: Path) -> tuple[Path | None, str]:
    """Runs sam build into workdir/build; returns (build dir or None, why not)."""
    cli = sam()
    if cli is None:
        return None, "SAM CLI not found (make setup installs it)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["SAM_CLI_TELEMETRY"] = "0"
    py = python313_dir()
    if py:
        env["PATH"] = py + os.pathsep + env.get("PATH", "")
    command = [
        cli,
        "build",
        "--template-file",
        str(ROOT / "template.yaml"),
        "--base-dir",
        str(ROOT),
        "--build-dir",
        str(workdir / "build"),
        "--cache-dir",
        str(workdir / "cache"),
        "--region",
        "eu-west-3",
    ]
    say("  sam build (into a temporary folder)")
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=480)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return None, "sam build failed: " + " / ".join(tail)
    return workdir / "build", ""


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def rows(built: Path | None, why_not: str) -> list[Row]:
    if built is None:
        return [Row("size", "layer and functions (sam build)", "not available", "report", "skip", why_not)]
    out: list[Row] = []
    for resource in sorted(p for p in built.iterdir() if p.is_dir()):
        total = size(resource)
        if (resource / "python").is_dir():  # a layer: what Lambda mounts as /opt/python
            python = resource / "python"
            packages = sorted(
                ((size(p) if p.is_dir() else p.stat().st_size, p.name) for p in python.iterdir()), reverse=True
            )
            present = [name for name in FORBIDDEN if (python / name).exists()]
            pycache = sum(1 for _ in python.rglob("__pycache__"))
            largest = ", ".join(f"{name} {_mb(n)}" for n, name in packages[:TOP_PACKAGES])
            out.append(
                Row(
                    "size",
                    f"layer {resource.name}",
                    _mb(total),
                    "report; no boto3/botocore",
                    check(not present),
                    (f"CONTAINS {', '.join(present)}; " if present else "boto3/botocore absent; ")
                    + f"largest: {largest}; {pycache} __pycache__ dirs",
                    {
                        "bytes": total,
                        "packages": {name: n for n, name in packages},
                        "forbidden_present": present,
                        "pycache_dirs": pycache,
                    },
                )
            )
        else:
            files = sorted(str(p.relative_to(resource)) for p in resource.rglob("*") if p.is_file())
            present = [name for name in FORBIDDEN if (resource / name).exists()]
            out.append(
                Row(
                    "size",
                    f"function {resource.name}",
                    _mb(total),
                    "report; no boto3/botocore",
                    check(not present),
                    f"{len(files)} file(s): {', '.join(files[:4])}",
                    {"bytes": total, "files": files, "forbidden_present": present},
                )
            )
    return out


def layer_python(built: Path | None) -> Path | None:
    """The built layer's python/ folder (what Lambda mounts as /opt/python), if there is one."""
    if built is None:
        return None
    return next((p / "python" for p in sorted(built.iterdir()) if (p / "python").is_dir()), None)
