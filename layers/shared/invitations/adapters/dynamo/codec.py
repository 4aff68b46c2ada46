"""DynamoDB attribute values in and out, and the cost of each call."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def dump(item: dict[str, Any]) -> dict[str, Any]:
    """An item (or expression values) as DynamoDB attribute values; None attributes are left out."""
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def value(attribute: dict[str, Any]) -> Any:
    """One attribute value, decoded directly for the types this service writes: boto3's generic
    TypeDeserializer was half of a listing's CPU time. Numbers here are counters: ints."""
    ((kind, raw),) = attribute.items()
    if kind == "S":
        return raw
    if kind == "N":
        return int(raw) if raw.lstrip("-").isdigit() else Decimal(raw)
    if kind == "M":
        return {k: value(v) for k, v in raw.items()}
    if kind == "L":
        return [value(v) for v in raw]
    if kind == "NULL":
        return None
    return _deserializer.deserialize(attribute)  # BOOL, sets, binary: never written by this service


@dataclass
class Usage:
    """Read/write cost as DynamoDB reports it (benchmarks and logs), and the part of it that
    transactions reported. DynamoDB Local's figure for a transaction is not DynamoDB's bill, so the
    benchmarks price writes from item sizes themselves (bench/pricing.py)."""

    capacity_units: float = 0.0
    items_read: int = 0
    transactional_units: float = 0.0

    def add(self, response: dict[str, Any], transactional: bool = False) -> None:
        consumed = response.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            units = float(entry.get("CapacityUnits", 0))
            self.capacity_units += units
            if transactional:
                self.transactional_units += units
        if "ScannedCount" in response:
            self.items_read += int(response["ScannedCount"])
        elif "Item" in response:
            self.items_read += 1
        elif "Responses" in response:
            self.items_read += sum(len(v) for v in response["Responses"].values())
