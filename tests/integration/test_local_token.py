"""`make -s token` prints the token alone on standard output, so `TOKEN=$(make -s token ...)`
needs nothing stripped (the note about it goes to standard error)."""

import subprocess
import sys

import jwt

from tests.support import ROOT


def test_the_token_is_the_only_line_on_stdout(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "local.token", "--sub", "dr-x", "--name", "Dr X", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    [token] = done.stdout.splitlines()
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "dr-x"
    assert "Bearer" in done.stderr
