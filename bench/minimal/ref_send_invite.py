"""Reference for send_invite, first request POST /invitations (an email address): the body
validated by a pydantic model (EmailStr), one TransactWriteItems (the invitation and its name
entries), the send counters read (clinician, recipient) and taken in the same TransactWriteItems
with the invitation, its name entries, its outbox entry and history entry (no provider call: the
dispatcher delivers), 201 with the invitation and its signed link."""

from typing import Annotated, Literal

import ref_base as b
import ref_http as h
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, ConfigDict, EmailStr, StringConstraints

app = APIGatewayHttpResolver(enable_validation=True)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: Name
    last_name: Name
    email: Annotated[EmailStr, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    locale: Literal["fr", "en"] = "fr"


@app.post("/invitations")
def send(invitation: InvitationCreate):
    claims = app.current_event.request_context.authorizer.jwt_claim
    who, at, invitation_id = str(claims["sub"]), b.now(), b.new_id()
    stored = {
        "pk": {"S": f"INV#{invitation_id}"},
        "sk": {"S": "INV"},
        "type": {"S": "invitation"},
        "id": {"S": invitation_id},
        "clinician_id": {"S": who},
        "clinician_name": {"S": str(claims.get("name") or "")},
        "first_name": {"S": invitation.first_name},
        "last_name": {"S": invitation.last_name},
        "locale": {"S": invitation.locale},
        "link_version": {"N": "1"},
        "created_at": {"S": b.iso(at)},
        "time_zone": {"S": "Europe/Paris"},
        "email_suppressed": {"BOOL": False},
        "rev": {"N": "0"},
    }
    stored.update({"email": {"S": invitation.email}} if invitation.email else {"phone": {"S": str(invitation.phone)}})
    stored = b.sent(stored, at, 1)
    put = {"TableName": b.settings().table_name, "Item": stored, "ConditionExpression": "attribute_not_exists(pk)"}
    recipient = b.pseudonym(str(invitation.email or invitation.phone).lower())
    writes = [{"Put": put}, *b.name_entries(stored), *b.counters(f"clinician#{who}", f"recipient#{who}#{recipient}")]
    b.write([*writes, *b.sent_event(stored, at)])
    b.metrics.add_metric(name="InvitationsSent", unit=b.MetricUnit.Count, value=1)
    return h.json_response(201, b.invitation_out(stored, b.now()), Location=f"/invitations/{invitation_id}")


lambda_handler = h.entry(app)
