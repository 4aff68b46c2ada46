"""POST /invitations: a clinician invites a patient (email if an address is given, else SMS)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header

from invitations.http import Router, build_app, current_clinician, json_response, lambda_entry, responses
from invitations.http.idempotency import send_invitation
from invitations.models.invitations import InvitationOut
from invitations.models.requests import InvitationCreate

router = Router()


@router.post(
    "/invitations",
    summary="Send an invitation",
    responses=responses(201, InvitationOut, "The invitation, as sent", 400, 401, 409, 415, 422),
)
def send(
    invitation: InvitationCreate,
    idempotency_key: Annotated[str | None, Header(alias="idempotency-key", max_length=255)] = None,
):  # the Response is documented by `responses=`
    sent = send_invitation(current_clinician(router), invitation, idempotency_key, router.lambda_context)
    return json_response(201, sent, Location=f"/invitations/{sent.id}")


app = build_app(router)
lambda_handler = lambda_entry(app)
