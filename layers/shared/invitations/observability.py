"""One structured logger and one metrics recorder for the whole service (Powertools).

Log lines carry ids, statuses and error codes only: never a name, an address, a phone
number or a token (tests capture every log line of the suite and check it)."""

from typing import Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="invitations")
metrics = Metrics(namespace="Invitations", service="invitations")


class Counter(Protocol):
    def count(self, name: str) -> None: ...


class PowertoolsCounter:
    def count(self, name: str) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
