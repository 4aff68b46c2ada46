"""Scheduled (EventBridge): every overdue pending invitation becomes expired, once."""

from collections.abc import Callable
from typing import Any

from invitations import runtime
from invitations.scheduled import scheduled_entry
from invitations.use_cases import expiry


def expire(has_time: Callable[[], bool]) -> dict[str, Any]:
    run = expiry.expire_overdue(runtime.services(), has_time)
    return {"expired": run.expired, "complete": run.complete}


lambda_handler = scheduled_entry(expire, margin_ms=10_000)  # stop with 10 s left: the next run resumes
