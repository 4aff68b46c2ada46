"""Time is injected everywhere so that the 14 days are tested at the boundary, not slept through."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Real UTC time, optionally shifted by the offset kept in a file (local test clock)."""

    def __init__(self, offset_file: str | None = None) -> None:
        self._offset_file = Path(offset_file) if offset_file else None

    def offset(self) -> timedelta:
        if self._offset_file is None:
            return timedelta(0)
        try:
            return timedelta(seconds=float(self._offset_file.read_text() or 0))
        except (FileNotFoundError, ValueError):
            return timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()


class FrozenClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = (start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, millisecond precision: sortable as text."""
    # isoformat rather than strftime: the same text, at a third of the cost (a list formats many).
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)  # reads the Z itself (Python 3.11+)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)
