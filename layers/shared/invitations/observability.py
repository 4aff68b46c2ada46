"""One structured logger and one metrics recorder for the whole service (Powertools).

Log lines carry ids, statuses and error codes only: never a name, an address, a phone
number or a token (tests capture every log line of the suite and check it)."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger(service="invitations")
metrics = Metrics(namespace="Invitations", service="invitations")


class PowertoolsCounter:
    def count(self, name: str, value: int = 1) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
