"""GET /invitations (list, search, filter), GET /invitations/{id} and its history: read-only."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from invitations import read_model, runtime
from invitations.domain.invitation import DeliveryStatus, Status
from invitations.http import Router, build_app, current_clinician, json_response, lambda_entry, responses
from invitations.http.presenters.invitations import history_out, invitation_out, invitation_page
from invitations.models.invitations import History, InvitationOut, InvitationPage
from invitations.use_cases import managing

router = Router()


@router.get(
    "/invitations",
    summary="List, search and filter the clinician's invitations, newest sent first",
    responses=responses(200, InvitationPage, "A page of invitations", 401, 422),
)
def list_invitations(
    q: Annotated[str | None, Query(max_length=100, description="Start of any word of the patient's name")] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    delivery: Annotated[DeliveryStatus | None, Query(description="Only those whose delivery has this status")] = None,
):  # the Response is documented by `responses=`
    services = runtime.services()
    page = read_model.list_page(services, current_clinician(router), q, status, limit, cursor, delivery)
    return json_response(200, invitation_page(page, services.links))


@router.get(
    "/invitations/<invitation_id>",
    summary="One invitation, with its current link",
    responses=responses(200, InvitationOut, "The invitation", 401, 404, 422),
)
def get_invitation(invitation_id: str):  # the Response is documented by `responses=`
    services = runtime.services()
    invitation = managing.get(services, current_clinician(router), invitation_id)
    return json_response(200, invitation_out(invitation, services.clock.now(), services.links))


@router.get(
    "/invitations/<invitation_id>/history",
    summary="Every change and delivery outcome of the invitation, oldest first",
    responses=responses(200, History, "The invitation's history", 401, 404, 422),
)
def get_history(invitation_id: str):  # the Response is documented by `responses=`
    entries = managing.history(runtime.services(), current_clinician(router), invitation_id)
    return json_response(200, history_out(entries))


app = build_app(router)
lambda_handler = lambda_entry(app)
