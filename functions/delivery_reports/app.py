"""What the providers say became of each message: SES's events (a rule on the account's default
bus, filtered on this stack's configuration set) and SNS's SMS delivery-status logs (a
subscription filter). Each report updates the invitation by the rules of domain/delivery.py."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from invitations import runtime, snapstart
from invitations.adapters.provider_reports import reports_of
from invitations.observability import logger, metrics
from invitations.use_cases import reports

snapstart.register()  # SnapStart's runtime hooks, when it is on (nothing runs otherwise)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    found = reports_of(event)
    recorded = sum(1 for report in found if reports.record(runtime.services(), report))
    return {"reports": len(found), "recorded": recorded}
