"""Reference for list_invites, first request GET /invitations?q=hel&limit=20: one Query of the
name entries starting with the word, one BatchGetItem (consistent) of the matches, a signed link
for each pending one, the page as a pydantic model."""

from typing import Annotated

import ref_base as b
import ref_http as h
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

app = APIGatewayHttpResolver(enable_validation=True)


class Page(BaseModel):
    items: list[b.InvitationOut]
    next_cursor: str | None


@app.get("/invitations")
def list_invitations(
    q: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
):
    who, table, dynamodb = h.clinician(app), b.settings().table_name, b.client("dynamodb")
    entries = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": f"NAME#{who}"}, ":prefix": {"S": b.words(q or "")[0]}},
        Limit=1000,
        ReturnConsumedCapacity="TOTAL",
    )["Items"]
    page = sorted(((e["sent_key"]["S"], e["invitation_id"]["S"]) for e in entries), reverse=True)[: limit + 1]
    keys = [{"pk": {"S": f"INV#{i}"}, "sk": {"S": "INV"}} for _, i in page]
    request = {table: {"Keys": keys, "ConsistentRead": True}}
    found = dynamodb.batch_get_item(RequestItems=request, ReturnConsumedCapacity="TOTAL")["Responses"][table]
    found.sort(key=lambda item: item["gsi1sk"]["S"], reverse=True)
    at = b.now()
    return h.json_response(200, Page(items=[b.invitation_out(item, at) for item in found[:limit]], next_cursor=None))


lambda_handler = h.entry(app)
