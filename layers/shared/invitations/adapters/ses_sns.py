"""The Messenger port on AWS: email through SES, SMS through SNS."""

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from invitations.ports import DeliveryFailed

# Refusals that no retry can change: the address or number itself is refused.
PERMANENT = {"MessageRejected", "InvalidParameterValue", "InvalidParameter", "InvalidParameterException"}


def failure_reason(error: Exception) -> str:
    """The provider's error code or the exception's type: never its text (it may quote the input)."""
    if isinstance(error, ClientError):
        return f"{error.response['Error'].get('Code', 'Error')}"
    return type(error).__name__


def delivery_failed(what: str, error: Exception) -> DeliveryFailed:
    reason = failure_reason(error)
    return DeliveryFailed(f"{what}: {reason}", permanent=reason in PERMANENT)


class AwsMessenger:
    """SES and SNS clients come with botocore's standard retries (set where they are built), and
    are only built when a message is sent: `clients` is a cached factory such as runtime.client."""

    def __init__(
        self, clients: Callable[[str], Any], sender_email: str, sms_sender_id: str, configuration_set: str = ""
    ) -> None:
        self._clients = clients
        self._sender_email = sender_email
        self._sms_sender_id = sms_sender_id
        self._configuration_set = configuration_set

    def send_email(self, to: str, subject: str, text: str, html: str, tags: Mapping[str, str]) -> str:
        request: dict[str, Any] = {
            "Source": self._sender_email,
            "Destination": {"ToAddresses": [to]},
            "Message": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
            },
            "Tags": [{"Name": name, "Value": value} for name, value in tags.items()],
        }
        if self._configuration_set:  # SES reports on a message only when it is sent with one
            request["ConfigurationSetName"] = self._configuration_set
        try:
            return str(self._clients("ses").send_email(**request)["MessageId"])
        except (ClientError, BotoCoreError) as error:
            raise delivery_failed("email not sent", error) from None

    def send_sms(self, to: str, text: str) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self._sms_sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self._sms_sender_id}
        try:
            return str(
                self._clients("sns").publish(PhoneNumber=to, Message=text, MessageAttributes=attributes)["MessageId"]
            )
        except (ClientError, BotoCoreError) as error:
            raise delivery_failed("SMS not sent", error) from None
