"""Wiring: the adapters behind the ports, built lazily on first use and reused across warm
invocations (never at import)."""

import threading
from datetime import timedelta
from functools import cache, lru_cache
from typing import Any

import boto3
from botocore.config import Config

from invitations.adapters.dynamo.queries import DynamoQueries
from invitations.adapters.dynamo.table import Table
from invitations.adapters.eventbridge import AwsEventPublisher
from invitations.adapters.pseudonyms import HmacPseudonyms
from invitations.adapters.ses_sns import AwsMessenger
from invitations.clock import SystemClock
from invitations.keyring import RING_LIFETIME_SECONDS, Expiring, stable_secret
from invitations.observability import PowertoolsCounter
from invitations.ports import UnitOfWork
from invitations.settings import get_settings
from invitations.tokens import SignedCursors, SignedLinks, TokenSigner
from invitations.use_cases.base import Services

# Standard mode: exponential back-off with jitter on throttling and transient errors.
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)
# Delivery, events and the secret: at most 2 attempts of 5 s, well inside the function's timeout,
# so that a slow SES or SNS ends as a recorded `failed` delivery, never as a killed function.
_BOUNDED = Config(retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=2, read_timeout=3)


_building = threading.Lock()


@cache
def _session() -> boto3.session.Session:
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    # One session for every client: each new Session parses botocore's endpoint data again
    # (about 40 ms a client). A Session is not thread-safe, and the local server runs handlers
    # in threads, hence the lock; in Lambda it is never contended.
    with _building:
        config = _RETRIES if service == "dynamodb" else _BOUNDED
        return _session().client(service, config=config)  # type: ignore[call-overload]


def _fetch_link_secret() -> bytes:
    secret_id = get_settings().link_secret_id
    response = client("secretsmanager").get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    return str(response["SecretString"]).encode()


# The link key ring (keyring.py), read from Secrets Manager on first use and again once it is
# RING_LIFETIME_SECONDS old: a container sees a rotation within 5 minutes. If a read fails, the
# ring held keeps serving (a rotation keeps the previous keys for ValidityDays).
link_secret = Expiring(_fetch_link_secret, RING_LIFETIME_SECONDS)


@lru_cache(maxsize=1)
def table() -> Table:
    settings = get_settings()
    return Table(client("dynamodb"), settings.table_name, timedelta(days=settings.retention_days))


def _unit_of_work() -> UnitOfWork:
    # Imported on first use: a listing (list, search) never loads the unit of work.
    from invitations.adapters.dynamo.unit_of_work import DynamoUnitOfWork

    return DynamoUnitOfWork(table())


@lru_cache(maxsize=1)
def services() -> Services:
    settings = get_settings()
    signer = TokenSigner(link_secret)  # the ring is fetched on the first link or cursor
    return Services(
        unit_of_work=_unit_of_work,
        queries=DynamoQueries(table()),
        messenger=AwsMessenger(client, settings.sender_email, settings.sms_sender_id, settings.ses_configuration_set),
        events=AwsEventPublisher(client, settings.event_bus_name),
        links=SignedLinks(signer, settings.base_url, settings.patient_help_url),
        cursors=SignedCursors(signer),
        clock=SystemClock(settings.clock_offset_file),
        rules=settings.rules(),
        counter=PowertoolsCounter(),
        pseudonyms=HmacPseudonyms(lambda: stable_secret(link_secret())),  # never rotated: quotas keep their keys
    )


def reset() -> None:
    """Forget every cached object (tests change the environment between cases)."""
    for cached in (client, _session, link_secret, table, services, get_settings):
        cached.cache_clear()
