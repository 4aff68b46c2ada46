"""After `sam build`: every built function imports in a clean Python 3.13 that has only what Lambda
gives it: the function's build folder, the built layer (/opt/python) and the runtime's boto3.

Also fails if boto3/botocore were packaged into the layer (the runtime provides them), if a
layer module ships without its bytecode (every cold start would compile it again), if a
compiled extension targets another architecture or Python than the template's, or if a function
with its layers exceeds Lambda's 250 MB unzipped limit; and prints the unzipped sizes.

When the build targets another architecture than this machine's (arm64 in the template, x86_64
here), the layer's compiled packages cannot load here: the import check then puts this machine's
build of the very same versions in front of them (cached under .tools/), after having checked
the built binaries themselves (ELF machine, CPython ABI)."""

import json
import os
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

from local.template import ROOT, functions, load_template, parameter_defaults, resources_of_type

BUILD_DIR = ROOT / ".aws-sam" / "build"
TOOLS = ROOT / ".tools"
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
UNZIPPED_LIMIT = 250 * 1024 * 1024
ELF_MACHINES = {"arm64": (183, "aarch64"), "x86_64": (62, "x86_64")}  # template name -> (e_machine, uname)
PYTHON_TAG = "cpython-313"

# Run by the clean interpreter: put the given folders first, import the handler, and report any
# module that came from somewhere else than those folders or the standard library.
_IMPORT_SCRIPT = """
import importlib, json, sys, sysconfig
module_name, handler_name, *paths = sys.argv[1:]
sys.path[:0] = paths
module = importlib.import_module(module_name)
assert callable(getattr(module, handler_name)), handler_name + " is not callable"
allowed = tuple(paths) + (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])
strays = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())} - {""})
strays = [f for f in strays if not f.startswith(allowed)]
print(json.dumps({"modules": len(sys.modules), "strays": strays[:5]}))
"""


class CheckFailed(Exception):
    pass


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _human(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.1f} kB"


def clean_python() -> Path:
    """The base interpreter behind this venv (3.13, as the runtime), or a python3.13 on PATH."""
    candidate = Path(sys.base_prefix) / "bin" / "python3.13"
    if sys.version_info[:2] == (3, 13) and candidate.exists():
        return candidate
    found = subprocess.run(["sh", "-c", "command -v python3.13"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise CheckFailed("Python 3.13 is needed for the import check (pyenv install 3.13)")
    return Path(found.stdout.strip())


def pip_target(requirement: str, target: Path, *extra: str) -> Path:
    """`pip install --target` once, cached: a folder holding only that package."""
    if not (target / ".complete").exists():
        print(f"  installing {requirement} into {target.relative_to(ROOT)} (once)")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--target",
                str(target),
                *extra,
                requirement,
            ],
            check=True,
        )
        (target / ".complete").touch()
    return target


def runtime_boto3() -> Path:
    """The Lambda runtime's boto3, stood in by the version the project's tooling pins."""
    from importlib.metadata import version

    pinned = version("boto3")
    return pip_target(f"boto3=={pinned}", TOOLS / f"runtime-boto3-{pinned}")


def modules_without_bytecode(layer: Path) -> list[str]:
    """The layer's modules that ship no hash-based .pyc (layers/shared/Makefile compiles them):
    Lambda's /opt is read-only, so each of them would be compiled again at every cold start."""
    missing = []
    for source in sorted(layer.rglob("*.py")):
        compiled = source.parent / "__pycache__" / f"{source.stem}.{PYTHON_TAG}.pyc"
        # PEP 552: bit 0 of the flags word marks a hash-based .pyc, valid whatever the timestamps.
        if not compiled.is_file() or not int.from_bytes(compiled.read_bytes()[4:8], "little") & 1:
            missing.append(str(source.relative_to(layer)))
    return missing


@dataclass(frozen=True)
class NativeDistribution:
    name: str
    version: str
    binaries: tuple[Path, ...]


def native_distributions(layer: Path) -> list[NativeDistribution]:
    """The layer's packages that ship compiled extensions (from each dist-info's RECORD)."""
    found = []
    for dist_info in sorted(layer.glob("*.dist-info")):
        record = dist_info / "RECORD"
        if not record.exists():
            continue
        binaries = tuple(
            layer / line.split(",")[0] for line in record.read_text().splitlines() if line.split(",")[0].endswith(".so")
        )
        if binaries:
            meta = Parser().parsestr((dist_info / "METADATA").read_text(), headersonly=True)
            found.append(NativeDistribution(meta["Name"], meta["Version"], binaries))
    return found


def check_binary(path: Path, architecture: str) -> str | None:
    """A problem with one compiled extension, or None: its ELF machine and its CPython tag."""
    expected_machine, machine_name = ELF_MACHINES[architecture]
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return f"{path.name}: not an ELF file"
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    if machine != expected_machine:
        return f"{path.name}: built for ELF machine {machine}, the functions run on {machine_name}"
    if ".cpython-" in path.name and PYTHON_TAG not in path.name:
        return f"{path.name}: built for another Python than 3.13"
    return None


def host_builds(natives: list[NativeDistribution]) -> list[Path]:
    """This machine's build of the same versions, to load in place of the target's binaries."""
    return [
        pip_target(
            f"{d.name}=={d.version}",
            TOOLS / "host-native" / f"{d.name}-{d.version}",
            "--no-deps",
            "--only-binary=:all:",
        )
        for d in natives
    ]


def import_in_clean_interpreter(
    python: Path, module: str, handler: str, paths: list[Path], env: dict[str, str]
) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), "-I", "-S", "-B", "-c", _IMPORT_SCRIPT, module, handler, *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        cwd=paths[0],
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CheckFailed(f"{module}.{handler} does not import: {last}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    template = load_template()
    # Dummy values for what a deployment provides; the template's own defaults and literals as they are.
    refs = {name: "dummy" for name in list(template.get("Parameters", {})) + list(template["Resources"])}
    refs |= {f"{name}.Arn": "dummy" for name in template["Resources"]} | parameter_defaults(template)
    specs = functions(template, refs)
    layer_ids = list(resources_of_type(template, "AWS::Serverless::LayerVersion"))
    glob = template.get("Globals", {}).get("Function", {})
    architecture = (glob.get("Architectures") or ["x86_64"])[0]
    problems: list[str] = []

    if not BUILD_DIR.exists():
        sys.exit("No build found: run `make build` (sam build) first.")
    layers = [BUILD_DIR / layer_id / "python" for layer_id in layer_ids]
    for layer in layers:
        if not layer.is_dir():
            problems.append(f"the built layer {layer.relative_to(ROOT)} is missing")
            continue
        packaged = [
            name for name in RUNTIME_PROVIDED if (layer / name).exists() or list(layer.glob(f"{name}-*.dist-info"))
        ]
        if packaged:
            problems.append(f"{layer.parent.name} packages {', '.join(packaged)}: the Lambda runtime provides them")
        uncompiled = modules_without_bytecode(layer)
        if uncompiled:
            problems.append(
                f"{layer.parent.name} ships {len(uncompiled)} module(s) without hash-based bytecode, e.g. {uncompiled[0]}"
            )
    if problems:
        sys.exit("Build check failed:\n  " + "\n  ".join(problems))

    natives = [d for layer in layers for d in native_distributions(layer)]
    for dist in natives:
        problems += [p for p in (check_binary(b, architecture) for b in dist.binaries) if p]
    shadows: list[Path] = []
    host = platform.machine()
    if natives and host != ELF_MACHINES[architecture][1]:
        names = ", ".join(f"{d.name} {d.version}" for d in natives)
        print(f"Layer built for {architecture}; this machine is {host}: importing with this machine's {names}")
        shadows = host_builds(natives)

    python = clean_python()
    boto3_dir = runtime_boto3()
    runtime_env = {"AWS_DEFAULT_REGION": "eu-west-3", "AWS_REGION": "eu-west-3", "PATH": os.environ.get("PATH", "")}

    def check(spec: Any) -> tuple[str, str | None]:
        function_dir = BUILD_DIR / spec.logical_id
        if not function_dir.is_dir():
            return spec.logical_id, "not built"
        try:
            outcome = import_in_clean_interpreter(
                python,
                spec.module,
                spec.handler,
                [function_dir, *shadows, *layers, boto3_dir],
                spec.environment | runtime_env,
            )
        except (CheckFailed, subprocess.TimeoutExpired) as failure:
            return spec.logical_id, str(failure)
        if outcome["strays"]:
            return spec.logical_id, f"imported from outside the function, layer and runtime: {outcome['strays']}"
        return spec.logical_id, None

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(check, specs))
    problems += [f"{name}: {problem}" for name, problem in results if problem]

    layer_bytes = sum(size_of(layer.parent) for layer in layers)
    print(f"\n{'unzipped size':<26}{'own':>10}{'with layers':>14}")
    for layer in layers:
        print(f"{layer.parent.name:<26}{_human(size_of(layer.parent)):>10}")
    for spec in specs:
        own = size_of(BUILD_DIR / spec.logical_id) if (BUILD_DIR / spec.logical_id).exists() else 0
        total = own + layer_bytes
        print(f"{spec.logical_id:<26}{_human(own):>10}{_human(total):>14}")
        if total > UNZIPPED_LIMIT:
            problems.append(f"{spec.logical_id}: {_human(total)} with its layers, over Lambda's 250 MB")

    if problems:
        sys.exit("\nBuild check failed:\n  " + "\n  ".join(problems))
    print(f"\nBuild check passed: {len(specs)} functions import with only their code, the layer and boto3.")


if __name__ == "__main__":
    main()
