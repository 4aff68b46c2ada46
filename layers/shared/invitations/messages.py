"""What the patient receives, in the invitation's locale. Every user-supplied string is escaped
in HTML; an SMS always fits one GSM-7 segment."""

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from html import escape

SMS_SEGMENT = 160
# GSM 03.38 basic character set: each counts one character of a 160-character segment.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7 = frozenset(GSM7_BASIC)


@dataclass(frozen=True)
class Email:
    """An email's subject, plain text and HTML."""

    subject: str
    text: str
    html: str


def _date(moment: datetime, locale: str) -> str:
    return moment.strftime("%d/%m/%Y") if locale == "fr" else moment.strftime("%Y-%m-%d")


def _short_date(moment: datetime, locale: str) -> str:
    return moment.strftime("%d/%m") if locale == "fr" else moment.strftime("%b %d")


_EMAIL = {
    "fr": {
        "subject": "{clinician} vous invite sur sa messagerie sécurisée",
        "hello": "Bonjour {first_name},",
        "body": "{clinician} vous invite à échanger avec lui ou elle sur une messagerie sécurisée.",
        "cta": "Accepter l'invitation",
        "until": "Ce lien est valable jusqu'au {date}.",
        "ignore": "Si vous ne connaissez pas ce professionnel de santé, ignorez ce message.",
    },
    "en": {
        "subject": "{clinician} invites you to their secure messaging",
        "hello": "Hello {first_name},",
        "body": "{clinician} invites you to exchange messages with them securely.",
        "cta": "Accept the invitation",
        "until": "This link is valid until {date}.",
        "ignore": "If you do not know this healthcare professional, please ignore this message.",
    },
}


def invitation_email(first_name: str, clinician: str, link: str, expires_at: datetime, locale: str) -> Email:
    t = _EMAIL[locale]
    date = _date(expires_at, locale)
    text = "\n\n".join(
        [
            t["hello"].format(first_name=first_name),
            t["body"].format(clinician=clinician),
            f"{t['cta']} : {link}" if locale == "fr" else f"{t['cta']}: {link}",
            t["until"].format(date=date),
            t["ignore"],
        ]
    )
    e_link = escape(link, quote=True)
    html = (
        '<!doctype html><html lang="{lang}"><body style="font-family:sans-serif">'
        "<p>{hello}</p><p>{body}</p>"
        '<p><a href="{link}" style="display:inline-block;padding:12px 20px;background:#0b5cad;color:#fff;'
        'text-decoration:none;border-radius:6px">{cta}</a></p>'
        '<p>{until}</p><p style="color:#555">{ignore}</p><p style="color:#555;font-size:small">{link_text}</p>'
        "</body></html>"
    ).format(
        lang=locale,
        hello=escape(t["hello"].format(first_name=first_name)),
        body=escape(t["body"].format(clinician=clinician)),
        link=e_link,
        cta=escape(t["cta"]),
        until=escape(t["until"].format(date=date)),
        ignore=escape(t["ignore"]),
        link_text=e_link,
    )
    return Email(subject=t["subject"].format(clinician=clinician).replace("\n", " "), text=text, html=html)


# With the date when the whole name fits with it, else without (the patient's page shows the
# date): a 30-character name and a 30-character base URL fit whole in both languages.
_SMS = {
    "fr": "{clinician} vous invite sur sa messagerie sécurisée, lien valable au {date} : {link}",
    "en": "{clinician} invites you to secure messaging, link valid until {date}: {link}",
}
_SMS_UNDATED = {
    "fr": "{clinician} vous invite sur sa messagerie sécurisée : {link}",
    "en": "{clinician} invites you to secure messaging: {link}",
}


def to_gsm7(text: str) -> str:
    """Keep GSM-7 characters; strip accents from the others, and drop what remains."""
    out = []
    for char in text:
        if char in _GSM7:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append("".join(c for c in base if c in _GSM7 and c not in "\n\r"))
    return "".join(out)


def invitation_sms(clinician: str, link: str, expires_at: datetime, locale: str) -> str:
    """One GSM-7 segment: the clinician's whole name first, then the date if it still fits; the
    name is shortened only if even the undated text needs the room."""
    name = " ".join(to_gsm7(clinician).split())
    date = _short_date(expires_at, locale)
    dated = _SMS[locale].format(clinician=name, date=date, link=link)
    if len(dated) <= SMS_SEGMENT:
        return dated
    template = _SMS_UNDATED[locale]
    room = max(0, SMS_SEGMENT - len(template.format(clinician="", link=link)))
    if len(name) > room:
        name = name[: max(0, room - 1)].rstrip() + "." if room else ""
    return template.format(clinician=name, link=link)


def is_single_gsm7_segment(text: str) -> bool:
    return len(text) <= SMS_SEGMENT and all(c in _GSM7 for c in text)


_REMINDER_SMS = {
    "fr": "Rappel : {clinician} vous invite sur sa messagerie sécurisée, lien valable jusqu'au {date} : {link}",
    "en": "Reminder: {clinician} invites you to secure messaging, link valid until {date}: {link}",
}
_REMINDER_SUBJECT = {
    "fr": "Rappel : {clinician} vous invite sur sa messagerie sécurisée",
    "en": "Reminder: {clinician} invites you to their secure messaging",
}


def reminder_email(first_name: str, clinician: str, link: str, expires_at: datetime, locale: str) -> Email:
    """The invitation email again, with a subject that says it is a reminder."""
    mail = invitation_email(first_name, clinician, link, expires_at, locale)
    subject = _REMINDER_SUBJECT.get(locale, _REMINDER_SUBJECT["fr"]).format(clinician=clinician).replace("\n", " ")
    return Email(subject=subject, text=mail.text, html=mail.html)


def reminder_sms(clinician: str, link: str, expires_at: datetime, locale: str) -> str:
    """One GSM-7 segment, like the invitation: the date matters most in a reminder; the name is
    shortened if it must be, and the SMS falls back to the invitation's own text past that."""
    name = " ".join(to_gsm7(clinician).split())
    template = _REMINDER_SMS.get(locale, _REMINDER_SMS["fr"])
    date = _short_date(expires_at, locale)
    room = SMS_SEGMENT - len(template.format(clinician="", date=date, link=link))
    if room < 10:
        return invitation_sms(clinician, link, expires_at, locale)
    if len(name) > room:
        name = name[: room - 1].rstrip() + "."
    return template.format(clinician=name, date=date, link=link)
