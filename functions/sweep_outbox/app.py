"""Scheduled (EventBridge): every outbox entry still not done a few minutes after its change is
dispatched again. A stream keeps records 24 hours and its on-failure queue only gets positions:
this is what makes "never lost" true on AWS too."""

from collections.abc import Callable
from typing import Any

from invitations import runtime
from invitations.observability import logger
from invitations.scheduled import scheduled_entry
from invitations.use_cases import dispatch


def sweep(has_time: Callable[[], bool]) -> dict[str, Any]:
    found, dispatched = dispatch.sweep(runtime.services(), has_time)
    logger.info("outbox swept", extra={"undone": found, "dispatched": dispatched})
    return {"undone": found, "dispatched": dispatched}


lambda_handler = scheduled_entry(sweep, margin_ms=30_000)
