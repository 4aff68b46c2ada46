"""A pytest fork server for the mutation runs: one process per tree imports pytest and the
packages the unit suite uses once, then forks a child for each mutant's run (`pytest.main` in a
fresh copy of that process). Nothing of the tree (invitations, tests, local) is ever imported by
the server: each child imports the mutated code from disk, as a new interpreter would.

    python forkserver.py --list PACKAGES_FILE PYTEST_ARGS... (the unmutated run: what it imports)
    python forkserver.py SOCKET PACKAGES_FILE TIMEOUT        (the server, started by run.py)
    python forkserver.py --client SOCKET PYTEST_ARGS...      (the test command cosmic-ray runs)

A client that cannot reach the server runs pytest itself: a missing server costs time, never a
false result.
"""

import contextlib
import importlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

TREE_PACKAGES = ("invitations", "tests", "local", "conftest", "__main__")


def _list(packages_file: str, args: list[str]) -> int:
    """Run pytest, then write the modules it imported from outside the tree."""
    import pytest

    code = int(pytest.main(args))
    tree = os.getcwd() + os.sep
    found = [
        name
        for name, module in list(sys.modules.items())
        if name.split(".")[0] not in TREE_PACKAGES and not (getattr(module, "__file__", None) or "").startswith(tree)
    ]
    Path(packages_file).write_text(json.dumps(sorted(found)))
    return code


def _client(path: str, args: list[str]) -> int:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(path)
            conn.sendall(json.dumps({"cwd": os.getcwd(), "args": args}).encode())
            conn.shutdown(socket.SHUT_WR)
            return int(conn.recv(16).decode())
    except (OSError, ValueError):
        os.execv(sys.executable, [sys.executable, "-m", "pytest", *args])  # noqa: S606 - the plain run


def _warm(packages_file: str) -> None:
    """Import what the unit suite imported outside the tree (listed by the unmutated run)."""
    for name in json.loads(Path(packages_file).read_text()):
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _run(request: dict, timeout: float) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(request["cwd"])
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            import pytest

            code = int(pytest.main(request["args"]))
        except BaseException:  # noqa: BLE001 - a crash of the run is a failed run
            code = 3
        os._exit(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)  # a mutant that loops for ever: its run failed
    os.waitpid(pid, 0)
    return 1


def _receive(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _serve(path: str, packages_file: str, timeout: float) -> None:
    sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
    import pytest  # noqa: F401 - imported once, here

    _warm(packages_file)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(4)
        while True:
            conn, _ = server.accept()
            with conn:
                request = json.loads(_receive(conn))
                if request.get("stop"):
                    return
                conn.sendall(str(_run(request, timeout)).encode())


if __name__ == "__main__":
    if sys.argv[1] == "--client":
        sys.exit(_client(sys.argv[2], sys.argv[3:]))
    if sys.argv[1] == "--list":
        sys.exit(_list(sys.argv[2], sys.argv[3:]))
    _serve(sys.argv[1], sys.argv[2], float(sys.argv[3]))
