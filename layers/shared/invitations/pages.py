"""The patient's pages: plain HTML, readable without JavaScript, usable on a phone, and loading
nothing from any other host. They never show the patient's own contact details."""

from datetime import datetime
from html import escape

# Sent with every page: no script, no third-party request, no referrer leaking the token.
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
}

_TEXT = {
    "fr": {
        "title": "Invitation à la messagerie sécurisée",
        "invite": "{clinician} vous invite à échanger sur sa messagerie sécurisée.",
        "until": "Invitation valable jusqu'au {date}.",
        "button": "Accepter l'invitation",
        "done_title": "Invitation acceptée",
        "done": "Merci ! Vous pouvez maintenant échanger avec {clinician} sur la messagerie sécurisée.",
        "expired_title": "Invitation expirée",
        "expired": "Cette invitation a expiré. Demandez à {clinician} de vous la renvoyer.",
        "gone_title": "Lien invalide",
        "gone": "Ce lien n'est plus valide. Si vous attendiez une invitation, demandez à votre soignant de vous la renvoyer.",
        "help_link": "Besoin d'aide ?",
        "help_title": "Accepter une invitation à la messagerie sécurisée",
    },
    "en": {
        "title": "Invitation to secure messaging",
        "invite": "{clinician} invites you to exchange messages on their secure messaging.",
        "until": "This invitation is valid until {date}.",
        "button": "Accept the invitation",
        "done_title": "Invitation accepted",
        "done": "Thank you! You can now exchange messages with {clinician} securely.",
        "expired_title": "Invitation expired",
        "expired": "This invitation has expired. Ask {clinician} to send it to you again.",
        "gone_title": "Link no longer valid",
        "gone": "This link is no longer valid. If you were expecting an invitation, ask your clinician to send it again.",
        "help_link": "Need help?",
        "help_title": "Accepting an invitation to secure messaging",
    },
}


# The help page (seed point 9): how to accept, and what a link that no longer works means.
_HELP: dict[str, list[str]] = {
    "fr": [
        "Ouvrez le lien reçu par e-mail ou par SMS, puis appuyez sur « Accepter l'invitation ». Rien d'autre n'est demandé.",
        "L'e-mail n'est pas arrivé ? Regardez dans les courriers indésirables ou l'onglet « Promotions » ou « Notifications ».",
        "Le lien dit « invitation expirée » : une invitation vaut {days} jours. Demandez à votre soignant de vous la renvoyer.",
        "Le lien dit « n'est plus valide » : votre soignant vous a envoyé un lien plus récent (ou a corrigé vos "
        "coordonnées). Utilisez le dernier reçu, ou demandez-lui de renvoyer l'invitation.",
        "Votre soignant peut aussi vous donner le lien directement, ou vous le montrer en QR code au cabinet.",
    ],
    "en": [
        "Open the link you received by email or text message, then press “Accept the invitation”. Nothing else is asked.",
        "No email? Look in your spam folder or in the “Promotions” or “Updates” tab.",
        "The link says “invitation expired”: an invitation is valid {days} days. Ask your clinician to send it again.",
        "The link says “no longer valid”: your clinician sent you a newer link (or corrected your details). "
        "Use the latest one, or ask them to resend the invitation.",
        "Your clinician can also give you the link directly, or show it as a QR code at the practice.",
    ],
}

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}"
    "main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem}"
    "h1{font-size:1.4rem;line-height:1.3}p{font-size:1.05rem;line-height:1.5}"
    "button{width:100%;padding:.9rem;font-size:1.1rem;border:0;border-radius:.5rem;background:#0b5cad;color:#fff}"
)


def _page(locale: str, title: str, body: str, help_url: str | None = None) -> str:
    """Every page but the help page itself links to the help page."""
    t = _TEXT.get(locale, _TEXT["fr"])
    help_link = f'<p><a href="{escape(help_url, quote=True)}">{escape(t["help_link"])}</a></p>' if help_url else ""
    return (
        f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}{help_link}</main></body></html>"
    )


def _date(moment: datetime, locale: str) -> str:
    """In the zone `moment` carries (the invitation's), named: never a bare UTC time."""
    zone = moment.tzname() or "UTC"
    return (
        moment.strftime(f"%d/%m/%Y à %H:%M ({zone})") if locale == "fr" else moment.strftime(f"%Y-%m-%d %H:%M ({zone})")
    )


def help_page(locale: str, validity_days: int) -> str:
    t = _TEXT.get(locale, _TEXT["fr"])
    lines = (line.format(days=validity_days) for line in _HELP.get(locale, _HELP["fr"]))
    items = "".join(f"<li><p>{escape(line)}</p></li>" for line in lines)
    return _page(locale, t["help_title"], f"<ul>{items}</ul>")


def invitation_page(
    locale: str, clinician: str, expires_at: datetime, accept_url: str, help_url: str | None = None
) -> str:
    t = _TEXT.get(locale, _TEXT["fr"])
    body = (
        f"<p>{escape(t['invite'].format(clinician=clinician))}</p>"
        f"<p>{escape(t['until'].format(date=_date(expires_at, locale)))}</p>"
        f'<form method="post" action="{escape(accept_url, quote=True)}">'
        f'<button type="submit">{escape(t["button"])}</button></form>'
    )
    return _page(locale, t["title"], body, help_url)


def accepted_page(locale: str, clinician: str, help_url: str | None = None) -> str:
    t = _TEXT.get(locale, _TEXT["fr"])
    return _page(locale, t["done_title"], f"<p>{escape(t['done'].format(clinician=clinician))}</p>", help_url)


def expired_page(locale: str, clinician: str, help_url: str | None = None) -> str:
    t = _TEXT.get(locale, _TEXT["fr"])
    return _page(locale, t["expired_title"], f"<p>{escape(t['expired'].format(clinician=clinician))}</p>", help_url)


def gone_page(locale: str = "fr", help_url: str | None = None) -> str:
    t = _TEXT.get(locale, _TEXT["fr"])
    return _page(locale, t["gone_title"], f"<p>{escape(t['gone'])}</p>", help_url)
