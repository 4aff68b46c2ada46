"""The patient's side, public: the invitation page and its acceptance, by link token; the help page."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from invitations import pages, runtime
from invitations.domain.errors import LinkExpired, LinkGone
from invitations.http import Router, build_app, error_response, json_response, lambda_entry, responses, status_of
from invitations.http.presenters.links import link_view
from invitations.models import Locale
from invitations.models.links import Accepted, LinkView
from invitations.use_cases import patient_link

router = Router()


def _documented(model: type[LinkView] | type[Accepted], description: str):  # OpenAPI responses
    """JSON for API clients, an HTML page for browsers, on every answer the patient can get."""
    documented = responses(200, model, description, 404, 410, 422)
    for status in (200, 404, 410):
        documented[status]["content"]["text/html"] = {"schema": {"type": "string"}}
    return documented


def _wants_json() -> bool:
    """JSON when asked for, or when the request is not a browser's (no text/html, no form post)."""
    headers = router.current_event.headers
    accept = (headers.get("accept") or "").lower()
    if "application/json" in accept:
        return True
    is_form = "application/x-www-form-urlencoded" in (headers.get("content-type") or "").lower()
    return router.current_event.request_context.http.method == "POST" and not is_form and "text/html" not in accept


def _html(status: int, body: str):  # the Response is documented by `responses=`
    return Response(status_code=status, body=body, headers=dict(pages.PAGE_HEADERS))


def _link_problem(problem: LinkGone | LinkExpired):  # the Response is documented by `responses=`
    if _wants_json():
        return error_response(status_of(problem), problem.code, problem.message)
    links = runtime.services().links
    if isinstance(problem, LinkExpired):
        return _html(410, pages.expired_page(problem.locale, problem.clinician_name, links.help(problem.locale)))
    return _html(404, pages.gone_page(help_url=links.help("fr")))


@router.get(
    "/i/<token>",
    summary="The invitation page (HTML), or its state as JSON with Accept: application/json",
    responses=_documented(LinkView, "Who invites, until when"),
)
def view_invitation(token: str):  # the Response is documented by `responses=`
    # Opening the page never consumes the link: mail scanners open links too.
    services = runtime.services()
    try:
        invitation = patient_link.view(services, token)
    except (LinkGone, LinkExpired) as problem:
        return _link_problem(problem)
    if _wants_json():
        return json_response(200, link_view(invitation, services.clock.now()))
    help_url = services.links.help(invitation.locale)
    if invitation.stored_status == "accepted":
        return _html(200, pages.accepted_page(invitation.locale, invitation.clinician_name, help_url))
    accept_url = f"{services.links.url(invitation.id, invitation.link_version)}/accept"
    expires_at = invitation.local_time(invitation.expires_at)  # the patient's time, not UTC
    return _html(
        200, pages.invitation_page(invitation.locale, invitation.clinician_name, expires_at, accept_url, help_url)
    )


@router.post(
    "/i/<token>/accept",
    summary="Accept the invitation (idempotent: the same link again gives the same answer)",
    responses=_documented(Accepted, "Accepted"),
)
def accept_invitation(token: str):  # the Response is documented by `responses=`
    try:
        invitation = patient_link.accept(runtime.services(), token)
    except (LinkGone, LinkExpired) as problem:
        return _link_problem(problem)
    if _wants_json():
        assert invitation.patient_id is not None
        return json_response(200, Accepted(status="accepted", patient_id=invitation.patient_id))
    help_url = runtime.services().links.help(invitation.locale)
    return _html(200, pages.accepted_page(invitation.locale, invitation.clinician_name, help_url))


@router.get(
    "/help",
    summary="The patients' help page (seed point 9), in French or English",
    responses={200: {"description": "The help page", "content": {"text/html": {"schema": {"type": "string"}}}}},
)
def help_page(lang: Annotated[Locale, Query()] = "fr"):  # the Response is documented by `responses=`
    return _html(200, pages.help_page(lang, runtime.services().rules.validity.days))


app = build_app(router)
lambda_handler = lambda_entry(app, json_bodies=False)  # the page's form posts no data
