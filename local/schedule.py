"""The template's schedules (`Schedule: rate(...)` events), run in background threads."""

import threading
from collections.abc import Callable
from dataclasses import dataclass

from local.lambdas import LocalFunction
from local.template import rate_seconds


@dataclass(frozen=True)
class Scheduled:
    name: str  # the function's folder name, as in POST /_local/run/<name>
    function: LocalFunction
    period_seconds: int


def scheduled(functions: dict[str, LocalFunction]) -> tuple[list[Scheduled], list[str]]:
    """Every `rate(...)` schedule; and, apart, the expressions this emulation does not run (cron)."""
    jobs, skipped = [], []
    for function in functions.values():
        for expression in function.spec.schedules:
            if expression.startswith("rate("):
                jobs.append(Scheduled(function.spec.code_dir.name, function, rate_seconds(expression)))
            else:
                skipped.append(f"{expression} of {function.spec.code_dir.name}")
    return jobs, skipped


def run_every(period_seconds: float, job: Callable[[], None], stop: threading.Event) -> None:
    """Like EventBridge's rate(): the first run one period after the start, then every period."""
    while not stop.wait(period_seconds):
        job()
