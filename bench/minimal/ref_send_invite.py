"""Reference for send_invite, first request POST /invitations (an email address): the body
validated by a pydantic model (EmailStr), one TransactWriteItems (the invitation and its name
entries), the email through SES, one conditional PutItem (the delivery outcome), one EventBridge
event, 201 with the invitation and its signed link."""

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
        "rev": {"N": "1"},
    }
    stored.update({"email": {"S": invitation.email}} if invitation.email else {"phone": {"S": str(invitation.phone)}})
    stored = b.sent(stored, at, 1)
    put = {"TableName": b.settings().table_name, "Item": stored, "ConditionExpression": "attribute_not_exists(pk)"}
    b.client("dynamodb").transact_write_items(TransactItems=[{"Put": put}, *b.name_entries(stored)])
    recorded = b.deliver_and_record(stored)
    return h.json_response(201, b.invitation_out(recorded, b.now()), Location=f"/invitations/{invitation_id}")


lambda_handler = h.entry(app)
