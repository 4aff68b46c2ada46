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
    table, at = b.settings().table_name, b.now()
    key = {"pk": {"S": f"INV#{invitation_id}"}, "sk": {"S": "INV"}}
    current = b.get(key)
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
    writes = [{"Put": put}, *b.name_entries(stored), *b.counters(f"clinician#{b.s(current, 'clinician_id')}")]
    b.write([*writes, *b.sent_event(stored, at)])
    b.metrics.add_metric(name="InvitationsSent", unit=b.MetricUnit.Count, value=1)
    return h.json_response(200, b.invitation_out(stored, b.now()))


lambda_handler = h.entry(app)
