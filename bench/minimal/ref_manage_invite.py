"""Reference for manage_invite, first request POST /invitations/{id}/resend: one consistent
GetItem, the send limit, one TransactWriteItems (the invitation with a new link, conditional on
its revision, its name entries, the clinician's send counter read before, its outbox entry and
history entry; no provider call: the dispatcher delivers), 200 with the invitation and its signed link."""

import ref_base as b
import ref_http as h
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

app = APIGatewayHttpResolver(enable_validation=True)


@app.post("/invitations/<invitation_id>/resend")
def resend(invitation_id: str):
    dynamodb, table, at = b.client("dynamodb"), b.settings().table_name, b.now()
    key = {"pk": {"S": f"INV#{invitation_id}"}, "sk": {"S": "INV"}}
    current = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if not current or b.s(current, "clinician_id") != h.clinician(app) or b.s(current, "status") == "deleted":
        return h.not_found()
    if b.s(current, "status") == "accepted":
        return Response(status_code=409, content_type=h.JSON, body='{"error": {"code": "invitation_accepted"}}')
    day_ago = b.iso(at - b.timedelta(hours=24))
    if sum(t["S"] > day_ago for t in current.get("recent_sends", {"L": []})["L"]) >= 5:
        return Response(status_code=429, content_type=h.JSON, body='{"error": {"code": "too_many_sends"}}')
    rev = b.s(current, "rev")
    stored = b.sent(current, at, b.s(current, "send_count") + 1)
    stored.update(link_version={"N": str(b.s(current, "link_version") + 1)}, rev={"N": str(rev + 1)})
    put = {
        "TableName": table,
        "Item": stored,
        "ConditionExpression": "rev = :rev",
        "ExpressionAttributeValues": {":rev": {"N": str(rev)}},
    }
    who, version = b.s(current, "clinician_id"), b.s(stored, "link_version")
    writes = [{"Put": put}, *b.name_entries(stored), *b.counters(f"clinician#{who}")]
    writes += b.event_items("InvitationSent", b.s(stored, "id"), version, {"clinician_id": who, "sent_at": b.iso(at)})
    dynamodb.transact_write_items(TransactItems=writes)
    b.metrics.add_metric(name="InvitationsSent", unit=b.MetricUnit.Count, value=1)
    return h.json_response(200, b.invitation_out(stored, b.now()))


lambda_handler = h.entry(app)
