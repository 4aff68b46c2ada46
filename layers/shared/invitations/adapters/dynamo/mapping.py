"""An entity (a dataclass) to a DynamoDB item's attributes and back, converted by field type:
a new field needs no change here, a new type one converter."""

import dataclasses
import json
from collections.abc import Callable
from datetime import datetime
from operator import itemgetter
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from invitations.adapters.dynamo.codec import value
from invitations.clock import iso, parse_iso
from invitations.domain.events import Actor, Message
from invitations.domain.invitation import DeliveryOutcome

Convert = Callable[[Any], Any]


def _same(v: Any) -> Any:
    return v


def _delivery_out(d: DeliveryOutcome) -> dict[str, Any]:
    fields = {"status": d.status, "at": iso(d.at), "detail": d.detail, "channel": d.channel, "message_id": d.message_id}
    return {k: v for k, v in fields.items() if v is not None}


def _delivery_in(d: dict[str, Any]) -> DeliveryOutcome:
    return DeliveryOutcome(d["status"], parse_iso(d["at"]), d.get("detail"), d.get("channel"), d.get("message_id"))


def _message_out(m: Message | None) -> dict[str, Any] | None:
    return {"kind": m.kind, "channel": m.channel, "link_version": m.link_version} if m else None


def _message_in(d: dict[str, Any] | None) -> Message | None:
    return Message(d["kind"], d["channel"], d["link_version"]) if d else None


_CONVERTERS: dict[Any, tuple[Convert, Convert]] = {
    datetime: (iso, parse_iso),
    Message | None: (_message_out, _message_in),
    Actor: (lambda a: {"kind": a.kind, "id": a.id}, lambda d: Actor(d["kind"], d.get("id"))),
    dict[str, Any]: (lambda d: json.dumps(d, separators=(",", ":")), json.loads),  # kept as sent, to the byte
    datetime | None: (lambda t: iso(t) if t else None, lambda s: parse_iso(s) if s else None),
    tuple[datetime, ...]: (lambda ts: [iso(t) for t in ts], lambda ss: tuple(parse_iso(s) for s in ss)),
    DeliveryOutcome: (_delivery_out, _delivery_in),
    tuple[tuple[datetime, int], ...]: (
        lambda bs: [[iso(t), n] for t, n in bs],
        lambda bs: tuple((parse_iso(t), int(n)) for t, n in bs),
    ),
}


def _plain_kinds(hint: Any) -> set[Any]:
    """The Python types a hint allows, None left out ('pending' | 'accepted' -> {str})."""
    if get_origin(hint) in (Literal, Union, UnionType):
        return set().union(*(_plain_kinds(arg) for arg in get_args(hint)))
    if get_origin(hint) is None and not isinstance(hint, type):
        return {type(hint)}  # a Literal's value
    return set() if hint is type(None) else {hint}


def _reader(hint: Any, back: Convert) -> Convert:
    """How to read one attribute value: strings, numbers and booleans straight from their
    DynamoDB type (a listing decodes thousands: the generic path was most of its CPU)."""
    kinds = _plain_kinds(hint) if back is _same else set()
    if kinds == {str}:
        return itemgetter("S")
    if kinds == {int}:
        return lambda attribute: int(attribute["N"])
    if kinds == {bool}:
        return itemgetter("BOOL")
    return lambda attribute: back(value(attribute))


class Mapper[T]:
    """An entity's fields <-> an item's attributes (`renamed`: field -> attribute name; `apart`:
    fields with a default that the item keeps its own way)."""

    def __init__(
        self, entity: type[T], renamed: dict[str, str] | None = None, apart: frozenset[str] = frozenset()
    ) -> None:
        hints = get_type_hints(entity)
        fields = [f for f in dataclasses.fields(entity) if f.name not in apart]  # type: ignore[arg-type]
        self._entity = entity
        self._fields = [
            (f.name, (renamed or {}).get(f.name, f.name), *_CONVERTERS.get(hints[f.name], (_same, _same)))
            for f in fields
        ]
        self._readers = [(name, attribute, _reader(hints[name], back)) for name, attribute, _, back in self._fields]
        # An attribute left out because it was None comes back as None, or as the field's default.
        missing = dataclasses.MISSING
        self._no_default = {f.name for f in fields if f.default is missing and f.default_factory is missing}

    def to_item(self, entity: T) -> dict[str, Any]:
        return {attribute: out(getattr(entity, name)) for name, attribute, out, _ in self._fields}

    def from_item(self, raw: dict[str, Any]) -> T:
        # One pass over the entity's attributes only (not keys and index keys): a listing decodes many.
        values = {name: read(raw[attribute]) for name, attribute, read in self._readers if attribute in raw}
        if len(values) < len(self._fields):
            values.update({name: None for name in self._no_default - values.keys()})
        return self._entity(**values)
