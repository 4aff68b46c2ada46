"""What the HTTP reference handlers share: Powertools' validating resolver, the caller from the
JWT authorizer, JSON answers, and the entry point with the logger's context and the metrics."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel
from ref_base import logger, metrics

JSON = "application/json"


def clinician(app: APIGatewayHttpResolver) -> str:
    return str(app.current_event.request_context.authorizer.jwt_claim["sub"])


def not_found() -> Response:
    body = json.dumps({"error": {"code": "not_found", "message": "Not found."}})
    return Response(status_code=404, content_type=JSON, body=body)


def json_response(status: int, model: BaseModel, **headers: str) -> Response:
    return Response(status_code=status, content_type=JSON, body=model.model_dump_json(), headers=headers or None)


def entry(app: APIGatewayHttpResolver) -> Any:
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return app.resolve(event, context)

    return handler
