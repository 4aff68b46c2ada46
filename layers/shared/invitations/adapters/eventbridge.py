"""The EventPublisher port on AWS: the service's EventBridge bus, source `invitations`."""

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from invitations.adapters.ses_sns import delivery_failed
from invitations.ports import DeliveryFailed

SOURCE = "invitations"


class AwsEventPublisher:
    def __init__(self, clients: Callable[[str], Any], bus_name: str) -> None:
        self._clients = clients
        self._bus = bus_name

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": self._bus}
        try:
            response = self._clients("events").put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as error:
            raise delivery_failed("event not published", error) from None
        if response.get("FailedEntryCount"):
            raise DeliveryFailed(f"event not published: {response['Entries'][0].get('ErrorCode', 'unknown')}")
