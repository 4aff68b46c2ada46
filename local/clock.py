"""The local test clock (like Stripe's test clocks): an offset in seconds, kept in a file that the
functions' clock reads (`CLOCK_OFFSET_FILE`, see invitations.clock.SystemClock), so that 14 days
can pass in a test without waiting for them. Only the service's clock moves: token expiry, as
API Gateway checks it, stays on real time."""

import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

OFFSET_FILE = "clock-offset-seconds"
MAX_OFFSET_SECONDS = 100 * 365 * 86400  # far enough for any test; datetime overflows not much later


class LocalClock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / OFFSET_FILE

    def offset(self) -> float:
        try:
            return float(self.path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset())

    def _write(self, seconds: float) -> None:
        # Atomic: a function may read the file at any moment.
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(repr(seconds))
        os.replace(tmp, self.path)

    def advance(self, seconds: float) -> datetime:
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("advance_seconds must be a number of seconds, zero or more")
        if self.offset() + seconds > MAX_OFFSET_SECONDS:
            raise ValueError("the test clock goes at most 100 years ahead")
        self._write(self.offset() + seconds)
        return self.now()

    def reset(self) -> datetime:
        self._write(0.0)
        return self.now()


def iso(moment: datetime) -> str:
    """As the service writes times: UTC, millisecond precision, with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
