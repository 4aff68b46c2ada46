"""Reference for accept_invite, first request GET /i/{token} from a browser: one consistent
GetItem, the token checked against the link secret, 200 with an HTML page."""

import hmac
from html import escape

import ref_base as b
import ref_http as h
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

app = APIGatewayHttpResolver(enable_validation=True)
HTML = "text/html; charset=utf-8"


@app.get("/i/<token>")
def view(token: str):
    invitation_id = b.token_id(token)
    key = {"pk": {"S": f"INV#{invitation_id}"}, "sk": {"S": "INV"}}
    item = b.get(key)
    if not invitation_id or not item or b.s(item, "status") == "deleted":
        return Response(status_code=404, content_type=HTML, body="<p>Ce lien ne fonctionne plus.</p>")
    if not hmac.compare_digest(b.token(invitation_id, b.s(item, "link_version")), token):
        return Response(status_code=404, content_type=HTML, body="<p>Ce lien ne fonctionne plus.</p>")
    if b.s(item, "status") != "accepted" and b.s(item, "expires_at") <= b.iso(b.now()):
        return Response(status_code=410, content_type=HTML, body="<p>Ce lien a expiré.</p>")
    name, url = escape(b.s(item, "clinician_name")), b.link(invitation_id, b.s(item, "link_version"))
    page = (
        f"<!doctype html><html lang='fr'><meta charset='utf-8'><title>Invitation</title><h1>{name} vous invite</h1>"
        f"<p>Valable jusqu'au {escape(b.s(item, 'expires_at'))}</p><form method='post' action='{url}/accept'>"
        "<button>Accepter</button></form></html>"
    )
    return Response(status_code=200, content_type=HTML, body=page)


lambda_handler = h.entry(app)
