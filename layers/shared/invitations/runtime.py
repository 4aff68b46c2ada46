"""Wiring, built lazily on first use and reused across warm invocations (never at import)."""

import threading
from datetime import timedelta
from functools import cache, lru_cache
from typing import Any

import boto3
from botocore.config import Config

from invitations.clock import SystemClock
from invitations.delivery import AwsEventPublisher, AwsMessenger
from invitations.domain import Rules
from invitations.observability import PowertoolsCounter
from invitations.repository import DynamoRepository
from invitations.service import InvitationService
from invitations.settings import get_settings
from invitations.tokens import TokenSigner

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


@lru_cache(maxsize=1)
def link_secret() -> bytes:
    """The link-signing secret, fetched once per container from Secrets Manager."""
    response = client("secretsmanager").get_secret_value(SecretId=get_settings().link_secret_id)
    return str(response["SecretString"]).encode()


@lru_cache(maxsize=1)
def get_service() -> InvitationService:
    settings = get_settings()
    return InvitationService(
        repo=DynamoRepository(client("dynamodb"), settings.table_name, timedelta(days=settings.retention_days)),
        messenger=AwsMessenger(client, settings.sender_email, settings.sms_sender_id),
        events=AwsEventPublisher(client, settings.event_bus_name),
        signer=TokenSigner(link_secret),
        clock=SystemClock(settings.clock_offset_file),
        rules=Rules(validity=timedelta(days=settings.validity_days), max_sends_per_day=settings.max_sends_per_day),
        base_url=settings.base_url,
        counter=PowertoolsCounter(),
    )


def reset() -> None:
    """Forget every cached object (tests change the environment between cases)."""
    for cached in (client, _session, link_secret, get_service, get_settings):
        cached.cache_clear()
