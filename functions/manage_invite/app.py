"""Correct, resend and delete an invitation that is not accepted yet."""

from aws_lambda_powertools.event_handler import Response

from invitations import runtime
from invitations.http import Router, build_app, current_clinician, json_response, lambda_entry, responses
from invitations.http.presenters.invitations import invitation_out
from invitations.models.invitations import InvitationOut
from invitations.models.requests import InvitationPatch
from invitations.use_cases import managing, sending

router = Router()


@router.patch(
    "/invitations/<invitation_id>",
    summary="Correct names or contact details (a new email or phone kills the old link)",
    responses=responses(200, InvitationOut, "The corrected invitation", 400, 401, 404, 409, 415, 422),
)
def correct_invitation(invitation_id: str, correction: InvitationPatch):  # the Response is documented by `responses=`
    services = runtime.services()
    corrected = managing.correct(services, current_clinician(router), invitation_id, correction.changes())
    return json_response(200, invitation_out(corrected, services.clock.now(), services.links))


@router.post(
    "/invitations/<invitation_id>/resend",
    summary="Resend: a new link, valid for the full period, on the current channel",
    responses=responses(200, InvitationOut, "The invitation, as sent again", 401, 404, 409, 422, 429),
)
def resend_invitation(invitation_id: str):  # the Response is documented by `responses=`
    services = runtime.services()
    resent = sending.resend(services, current_clinician(router), invitation_id)
    return json_response(200, invitation_out(resent, services.clock.now(), services.links))


@router.delete(
    "/invitations/<invitation_id>",
    summary="Delete: the link is dead for ever and the invitation disappears",
    responses=responses(204, None, "Deleted", 401, 404, 409, 422),
)
def delete_invitation(invitation_id: str):  # the Response is documented by `responses=`
    managing.delete(runtime.services(), current_clinician(router), invitation_id)
    return Response(status_code=204)


app = build_app(router)
lambda_handler = lambda_entry(app)
