"""`make bench`: the benchmarks of issue 5 (cold start, warm overhead, capacity per route, search
cost, expiry scaling, build sizes, SMS length, local load). One table, bench/results.json, and
docs/performance.md explains every figure."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "shared"

# The shared layer is importable exactly as in Lambda (/opt/python), as pytest's pythonpath does.
for _path in (str(ROOT), str(LAYER)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
