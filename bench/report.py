"""Rows of the one table, the table itself, statistics helpers and bench/results.json."""

import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench import ROOT

RESULTS = ROOT / "bench" / "results.json"
DOCS = ROOT / "docs" / "performance.md"
TABLE_START, TABLE_END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"

Verdict = Literal["ok", "MISS", "info", "skip"]


@dataclass
class Row:
    figure: str
    subject: str
    value: str
    target: str = ""
    verdict: Verdict = "info"
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def check(passed: bool) -> Verdict:
    return "ok" if passed else "MISS"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: it is one of the measured values)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return float(ordered[rank - 1])


def ratio_interval(top: Sequence[float], bottom: Sequence[float], rounds: int = 1000) -> tuple[float, float]:
    """90% bootstrap interval of median(top) / median(bottom): how much the ratio owes to noise.
    Seeded, so that the same samples always give the same interval."""
    draw = random.Random(0)
    ratios = sorted(
        statistics.median(draw.choices(top, k=len(top))) / statistics.median(draw.choices(bottom, k=len(bottom)))
        for _ in range(rounds)
    )
    return ratios[int(0.05 * rounds)], ratios[int(0.95 * rounds) - 1]


def say(message: str) -> None:
    """Progress goes to stderr: stdout carries the table only."""
    print(message, file=sys.stderr, flush=True)


def render(rows: Sequence[Row]) -> str:
    header = ("figure", "subject", "measured", "target", "", "detail")
    cells = [header] + [(r.figure, r.subject, r.value, r.target, r.verdict, r.detail) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header) - 1)]
    lines = []
    for i, cell in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cell[:-1], widths, strict=True)) + "  " + cell[-1])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len("detail"))
    return "\n".join(line.rstrip() for line in lines)


def markdown(rows: Sequence[Row]) -> str:
    """The same table, for docs/performance.md."""
    out = ["| figure | subject | measured | target | | detail |", "|---|---|---|---|---|---|"]
    for r in rows:
        cells = (r.figure, r.subject, r.value, r.target, r.verdict, r.detail)
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)


def write(rows: Sequence[Row], started: float, sections: Sequence[str]) -> Path:
    document = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_seconds": round(time.monotonic() - started, 1),
        "sections": list(sections),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "table": render(rows),
        "markdown": markdown(rows),
        "rows": [asdict(r) for r in rows],
    }
    # Written whole, then renamed: an interrupted run never leaves half a file.
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(RESULTS)
    _update_docs(document)
    return RESULTS


def _update_docs(document: dict[str, Any]) -> None:
    """docs/performance.md shows the latest table: the part between its two markers is replaced."""
    if not DOCS.is_file():
        return
    text = DOCS.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        return
    machine = document["machine"]
    block = (
        f"{TABLE_START}\nLatest run: {document['generated_at']}, {document['duration_seconds']:.0f} s, "
        f"{machine['cpus']} CPUs, Python {machine['python']}.\n\n{document['markdown']}\n{TABLE_END}"
    )
    head, rest = text.split(TABLE_START, 1)
    DOCS.write_text(head + block + rest.split(TABLE_END, 1)[1])
