"""Where the local stack keeps its state: `.local/` (git-ignored) unless told otherwise, so that
the dev server, `make token` and the tests agree on one folder."""

import os
from pathlib import Path

from local.template import ROOT

DATA_DIR_ENV = "LOCAL_DATA_DIR"


def data_dir(override: str | Path | None = None) -> Path:
    chosen = override or os.environ.get(DATA_DIR_ENV) or ROOT / ".local"
    return Path(chosen).resolve()
