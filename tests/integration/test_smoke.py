from tests.support import call, token_of


def test_send_then_get_then_accept(stack):
    sent = call("POST", "/invitations", {"first_name": "Hélène", "last_name": "Dupont", "email": "h@example.org"})
    assert sent.status == 201, sent.text
    inv = sent.json
    got = call("GET", f"/invitations/{inv['id']}")
    assert got.status == 200, got.text
    token = token_of(inv["link"])
    page = call("GET", f"/i/{token}", headers={"accept": "text/html"})
    assert page.status == 200, page.text
    accepted = call("POST", f"/i/{token}/accept")
    assert accepted.status == 200, accepted.text
    listed = call("GET", "/invitations", query={"q": "hel"})
    assert listed.status == 200, listed.text
    print(listed.json, stack.emails(), stack.events())
