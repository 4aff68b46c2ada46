"""The local stack's child processes: started by us, stopped by us (by pid, never by name), and
recorded in the data folder so that a run that was killed outright (SIGKILL, a crash) can have
its leftovers stopped by the next one."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

PID_FILE = "pids.json"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _mentions(pid: int, marker: str) -> bool:
    """Whether the process's command line or environment names `marker` (our data folder), so
    that a recycled pid is never mistaken for one of ours."""
    for name in ("cmdline", "environ"):
        try:
            if marker.encode() in Path(f"/proc/{pid}/{name}").read_bytes():
                return True
        except OSError:
            continue
    return False


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_pid(pid: int, timeout: float = 10) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


class PidFile:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / PID_FILE
        self.marker = str(data_dir)

    def read(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads(self.path.read_text()).items()}
        except (OSError, ValueError):
            return {}

    def record(self, name: str, pid: int) -> None:
        pids = self.read()
        pids[name] = pid
        self.path.write_text(json.dumps(pids))

    def running_server(self) -> int | None:
        """The pid of another dev server still serving this data folder, if any."""
        pid = self.read().get("devserver")
        if pid and pid != os.getpid() and alive(pid) and _mentions(pid, "local.devserver"):
            return pid
        return None

    def stop_leftovers(self) -> list[str]:
        """Stop what a killed run left behind (only processes that name this data folder)."""
        stopped = []
        for name, pid in self.read().items():
            if name != "devserver" and alive(pid) and _mentions(pid, self.marker):
                stop_pid(pid)
                stopped.append(name)
        self.path.unlink(missing_ok=True)
        return stopped

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
