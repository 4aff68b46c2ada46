"""The EventPublisher port on AWS: the service's EventBridge bus, source `invitations`."""

import json
from collections.abc import Callable
from typing import Any

from invitations.domain.events import DomainEvent
from invitations.ports import DeliveryFailed

SOURCE = "invitations"


class AwsEventPublisher:
    def __init__(self, clients: Callable[[str], Any], bus_name: str) -> None:
        self._clients = clients
        self._bus = bus_name

    def publish(self, event: DomainEvent) -> None:
        entry = {
            "Source": SOURCE,
            "DetailType": event.type,
            "Detail": json.dumps(event.detail()),
            "EventBusName": self._bus,
        }
        response = self._clients("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise DeliveryFailed(f"event not published: {response['Entries'][0].get('ErrorCode', 'unknown')}")
