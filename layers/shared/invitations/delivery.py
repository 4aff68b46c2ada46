"""Delivery behind one small interface: email through SES, SMS through SNS, events to EventBridge."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError


class DeliveryFailed(Exception):
    """Raised with a reason that never contains the recipient's address or number."""


class Messenger(Protocol):
    def send_email(self, to: str, subject: str, text: str, html: str) -> None: ...

    def send_sms(self, to: str, text: str) -> None: ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        return f"{error.response['Error'].get('Code', 'Error')}"
    return type(error).__name__


class AwsMessenger:
    """SES and SNS clients come with botocore's standard retries (set where they are built), and
    are only built when a message is sent: `clients` is a cached factory such as runtime.client."""

    def __init__(self, clients: Callable[[str], Any], sender_email: str, sms_sender_id: str) -> None:
        self._clients = clients
        self._sender_email = sender_email
        self._sms_sender_id = sms_sender_id

    @property
    def _ses(self) -> Any:
        return self._clients("ses")

    @property
    def _sns(self) -> Any:
        return self._clients("sns")

    def send_email(self, to: str, subject: str, text: str, html: str) -> None:
        try:
            self._ses.send_email(
                Source=self._sender_email,
                Destination={"ToAddresses": [to]},
                Message={
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise DeliveryFailed(f"email not sent: {_reason(error)}") from None

    def send_sms(self, to: str, text: str) -> None:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sms_sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sms_sender_id}
        try:
            self._sns.publish(PhoneNumber=to, Message=text, MessageAttributes=attributes)
        except (ClientError, BotoCoreError) as error:
            raise DeliveryFailed(f"SMS not sent: {_reason(error)}") from None


class AwsEventPublisher:
    def __init__(self, clients: Callable[[str], Any], bus_name: str) -> None:
        self._clients = clients
        self._bus = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        entry = {
            "Source": "invitations",
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "EventBusName": self._bus,
        }
        response = self._clients("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise DeliveryFailed(f"event not published: {response['Entries'][0].get('ErrorCode', 'unknown')}")


@dataclass
class InMemoryMessenger:
    """A fake for unit tests; `fail_with` makes every send fail."""

    emails: list[dict[str, str]] = field(default_factory=list)
    sms: list[dict[str, str]] = field(default_factory=list)
    fail_with: str | None = None

    def send_email(self, to: str, subject: str, text: str, html: str) -> None:
        if self.fail_with:
            raise DeliveryFailed(self.fail_with)
        self.emails.append({"to": to, "subject": subject, "text": text, "html": html})

    def send_sms(self, to: str, text: str) -> None:
        if self.fail_with:
            raise DeliveryFailed(self.fail_with)
        self.sms.append({"to": to, "text": text})


@dataclass
class InMemoryEvents:
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.published.append((detail_type, detail))
