"""What every reference handler shares (ref_http.py: what the HTTP ones share): the cold-start floor the design card sets, written with
the same third-party packages as the functions (boto3, Powertools' validating resolver, Logger,
Metrics, pydantic) and nothing of the project's own. See bench/cold.py.

These modules run in a cold-start child with this folder on PYTHONPATH, as a function's app.py
runs with its own folder and the layer: they import nothing from bench or invitations."""

import hashlib
import hmac
import json
import os
import re
import secrets
import time
import unicodedata
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit as MetricUnit  # the references use b.MetricUnit
from pydantic import BaseModel, ConfigDict, Field

logger = Logger(service="invitations")
metrics = Metrics(namespace="Invitations", service="invitations")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    table_name: str = Field(alias="TABLE_NAME")
    event_bus_name: str = Field(alias="EVENT_BUS_NAME")
    public_base_url: str = Field(alias="PUBLIC_BASE_URL")
    link_secret_id: str = Field(alias="LINK_SECRET_ID")
    sender_email: str = Field(default="", alias="SENDER_EMAIL")
    validity_days: int = Field(default=14, alias="VALIDITY_DAYS")


@cache
def settings() -> Settings:
    return Settings.model_validate(dict(os.environ))


@cache
def client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


@cache
def secret() -> bytes:
    answer = client("secretsmanager").get_secret_value(SecretId=settings().link_secret_id, VersionStage="AWSCURRENT")
    return str(answer["SecretString"]).encode()


@cache
def link_key() -> bytes:
    return hmac.new(secret(), b"invitation-link", hashlib.sha256).digest()


def pseudonym(value: str) -> str:
    """A recipient as its send counter is keyed: 144 bits of MAC, never the address itself."""
    key = hmac.digest(secret(), b"recipient-pseudonyms", "sha256")
    return urlsafe_b64encode(hmac.digest(key, value.encode(), "sha256")[:18]).decode()


def get(key: dict[str, Any]) -> dict[str, Any] | None:
    """One item, read consistently (as every read of the service, with its consumed capacity)."""
    table = settings().table_name
    answer = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    item: dict[str, Any] | None = answer.get("Item")
    return item


def write(items: list[dict[str, Any]]) -> None:
    client("dynamodb").transact_write_items(TransactItems=items, ReturnConsumedCapacity="TOTAL")


def token(invitation_id: str, version: int) -> str:
    """Key id (0: the secret is one key), invitation id, 128 bits of MAC: 44 characters."""
    mac = hmac.new(link_key(), f"{invitation_id}|{version}".encode(), hashlib.sha256).digest()[:16]
    return urlsafe_b64encode(bytes((0,)) + bytes.fromhex(invitation_id) + mac).rstrip(b"=").decode()


def link(invitation_id: str, version: int) -> str:
    return f"{settings().public_base_url.rstrip('/')}/i/{token(invitation_id, version)}"


def token_id(text: str) -> str | None:
    try:
        raw = urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None
    return raw[1:17].hex() if len(raw) == 33 else None


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def new_id() -> str:
    return secrets.token_hex(16)


def words(*names: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", " ".join(names))
    return sorted(set(re.findall(r"[^\W_]+", "".join(c for c in folded if not unicodedata.combining(c)).lower())))


def s(item: dict[str, Any], name: str) -> Any:
    """One attribute's value, as the reference reads them: S, N (int), M, or absent."""
    attribute = item.get(name)
    if attribute is None or "NULL" in attribute:
        return None
    ((kind, raw),) = attribute.items()
    return int(raw) if kind == "N" else raw


class Delivery(BaseModel):
    status: str
    at: str
    detail: str | None = None


class InvitationOut(BaseModel):
    id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    channel: str
    status: str
    link: str | None = None
    created_at: str
    sent_at: str
    expires_at: str
    accepted_at: str | None
    patient_id: str | None
    delivery: Delivery
    send_count: int
    locale: str


def invitation_out(item: dict[str, Any], at: datetime) -> InvitationOut:
    status = s(item, "status")
    if status == "pending" and s(item, "expires_at") <= iso(at):
        status = "expired"
    delivery = item["delivery"]["M"]
    return InvitationOut(
        id=s(item, "id"),
        first_name=s(item, "first_name"),
        last_name=s(item, "last_name"),
        email=s(item, "email"),
        phone=s(item, "phone"),
        channel="email" if s(item, "email") else "sms",
        status=status,
        link=link(s(item, "id"), s(item, "link_version")) if status == "pending" else None,
        created_at=s(item, "created_at"),
        sent_at=s(item, "sent_at"),
        expires_at=s(item, "expires_at"),
        accepted_at=s(item, "accepted_at"),
        patient_id=s(item, "patient_id"),
        delivery=Delivery(status=delivery["status"]["S"], at=delivery["at"]["S"]),
        send_count=s(item, "send_count"),
        locale=s(item, "locale"),
    )


def name_entries(item: dict[str, Any], ttl: int | None = None) -> list[dict[str, Any]]:
    """One Put per word of the name, carrying the sent key (and the TTL of an expired one)."""
    clinician_id, invitation_id, key = s(item, "clinician_id"), s(item, "id"), s(item, "gsi1sk")
    puts = []
    for word in words(s(item, "first_name"), s(item, "last_name")):
        entry = {
            "pk": {"S": f"NAME#{clinician_id}"},
            "sk": {"S": f"{word}#{invitation_id}"},
            "invitation_id": {"S": invitation_id},
            "sent_key": {"S": key},
        }
        if ttl is not None:
            entry["ttl"] = {"N": str(ttl)}
        puts.append({"Put": {"TableName": settings().table_name, "Item": entry}})
    return puts


def shard(some_id: str) -> int:
    """Which of the 4 partitions of a sparse index (Due, Remind, Undone) an item's entry goes to."""
    return int(some_id[-2:], 16) % 4


def reminder_at(expires: datetime, time_zone: str) -> datetime:
    """The link's one reminder: 3 days before it expires, moved into 09:00-20:00 where the patient is."""
    from zoneinfo import ZoneInfo

    local = (expires - timedelta(days=3)).astimezone(ZoneInfo(time_zone))
    if not 9 <= local.hour < 20:
        local = local.replace(hour=9 if local.hour < 9 else 19, minute=0, second=0, microsecond=0)
    return local.astimezone(UTC)


def sent(item: dict[str, Any], at: datetime, count: int) -> dict[str, Any]:
    """The item with a new link, sent at `at` for the full validity (send or resend), queued for
    delivery, in every index a pending invitation is in (ByClinician, ByStatus, ByDelivery, Due)
    and in Remind until its reminder is sent."""
    invitation_id, clinician_id = s(item, "id"), s(item, "clinician_id")
    key = f"{iso(at)}#{invitation_id}"
    expires = at + timedelta(days=settings().validity_days)
    remind = iso(reminder_at(expires, s(item, "time_zone")))
    return {
        **item,
        "status": {"S": "pending"},
        "sent_at": {"S": iso(at)},
        "expires_at": {"S": iso(expires)},
        "delivery": {"M": {"status": {"S": "queued"}, "at": {"S": iso(at)}}},
        "send_count": {"N": str(count)},
        "recent_sends": {"L": [*item.get("recent_sends", {"L": []})["L"], {"S": iso(at)}][-5:]},
        "remind_at": {"S": remind},
        "gsi1pk": {"S": f"CLIN#{clinician_id}"},
        "gsi1sk": {"S": key},
        "gsi2pk": {"S": f"CLIN#{clinician_id}#pending"},
        "gsi2sk": {"S": key},
        "gsi3pk": {"S": f"CLIN#{clinician_id}#queued"},
        "gsi3sk": {"S": key},
        "due_pk": {"S": f"DUE#{shard(invitation_id)}"},
        "due_sk": {"S": f"{iso(expires)}#{invitation_id}"},
        "remind_pk": {"S": f"REMIND#{shard(invitation_id)}"},
        "remind_sk": {"S": f"{remind}#{invitation_id}"},
    }


def counters(*keys: str) -> list[dict[str, Any]]:
    """Send counters (a clinician's day, by hour; a recipient's, by minute): each read
    (consistent), then one more send in the current bucket, conditioned on the revision read, kept
    (TTL) until the last bucket is out of the 24 hours counted."""
    table, at = settings().table_name, now()
    puts = []
    for key in keys:
        item_key = {"pk": {"S": f"QUOTA#{key}"}, "sk": {"S": "QUOTA"}}
        found = get(item_key)
        rev = int(found["rev"]["N"]) if found else 0
        start = at.replace(minute=0 if key.startswith("clinician#") else at.minute, second=0, microsecond=0)
        window = iso(at - timedelta(hours=24))
        buckets = [b["L"] for b in (found or {}).get("buckets", {"L": []})["L"] if b["L"][0]["S"] > window]
        if buckets and buckets[-1][0]["S"] == iso(start):
            buckets[-1] = [buckets[-1][0], {"N": str(int(buckets[-1][1]["N"]) + 1)}]
        else:
            buckets.append([{"S": iso(start)}, {"N": "1"}])
        item = {**item_key, "type": {"S": "quota"}, "key": {"S": key}, "rev": {"N": str(rev + 1)}}
        item["buckets"] = {"L": [{"L": b} for b in buckets]}
        item["ttl"] = {"N": str(int((start + timedelta(hours=25)).timestamp()))}
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if found:
            condition = {"ConditionExpression": "rev = :rev", "ExpressionAttributeValues": {":rev": {"N": str(rev)}}}
        puts.append({"Put": {"TableName": table, "Item": item, **condition}})
    return puts


def actor(clinician_id: str | None) -> dict[str, Any]:
    """Who made a change: a clinician, or the service itself (None)."""
    if clinician_id is None:
        return {"M": {"kind": {"S": "system"}, "id": {"NULL": True}}}
    return {"M": {"kind": {"S": "clinician"}, "id": {"S": clinician_id}}}


def event_items(
    event_type: str, history_type: str, item: dict[str, Any], at: datetime, by: str | None, facts: dict[str, Any]
) -> list[dict[str, Any]]:
    """The outbox: the event stored with the change (its entry, new, and its history entry). A
    send's event carries the message to deliver, and its history entry the channel; an entry is
    kept (TTL) as long as the invitation."""
    table, when, event_id, invitation_id = settings().table_name, iso(at), new_id(), s(item, "id")
    version, who = s(item, "link_version"), actor(by)
    detail = {"event_id": event_id, "occurred_at": when, "actor": {"kind": "clinician" if by else "system", "id": by}}
    detail.update(invitation_id=invitation_id, link_version=version, **facts)
    entry = {
        "pk": {"S": f"INV#{invitation_id}"},
        "sk": {"S": f"OUT#{event_id}"},
        "type": {"S": "outbox"},
        "invitation_id": {"S": invitation_id},
        "event_id": {"S": event_id},
        "event_type": {"S": event_type},
        "detail": {"S": json.dumps(detail, separators=(",", ":"))},
        "created_at": {"S": when},
        "message_handled": {"BOOL": False},
        "attempts": {"N": "0"},
        "rev": {"N": "0"},
        "undone_pk": {"S": f"UNDONE#{shard(event_id)}"},
        "undone_sk": {"S": f"{when}#{event_id}"},
    }
    note = {
        "pk": {"S": f"INV#{invitation_id}"},
        "sk": {"S": f"HIST#{when}#{time.time_ns():020d}#{event_id}"},
        "type": {"S": "history"},
        "invitation_id": {"S": invitation_id},
        "history_type": {"S": history_type},
        "at": {"S": when},
        "actor": who,
        "entry_id": {"S": event_id},
    }
    if "channel" in facts:  # a send: the message to deliver
        message = {"kind": {"S": "invitation"}, "channel": {"S": facts["channel"]}, "link_version": {"N": str(version)}}
        entry["message"] = {"M": message}
        note["channel"] = {"S": facts["channel"]}
    if "ttl" in item:
        note["ttl"] = item["ttl"]
    return [
        {"Put": {"TableName": table, "Item": entry, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Put": {"TableName": table, "Item": note}},
    ]


def sent_event(item: dict[str, Any], at: datetime) -> list[dict[str, Any]]:
    """A send's (or a resend's) event, by the invitation's clinician, with the message to deliver."""
    count, by = s(item, "send_count"), s(item, "clinician_id")
    facts = {"clinician_id": by, "channel": "email" if s(item, "email") else "sms", "send_count": count}
    facts.update(sent_at=iso(at), expires_at=s(item, "expires_at"), delivery_status="queued")
    return event_items("InvitationSent", "sent" if count == 1 else "resent", item, at, by, facts)
