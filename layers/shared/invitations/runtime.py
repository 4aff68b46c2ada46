"""Wiring: the adapters behind the ports, built lazily on first use and reused across warm
invocations (never at import)."""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import cache, cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from invitations.adapters.dynamo.table import Table
from invitations.clock import SystemClock
from invitations.keyring import RING_LIFETIME_SECONDS, Expiring
from invitations.observability import PowertoolsCounter
from invitations.settings import Settings, get_settings

if TYPE_CHECKING:  # each adapter's module is imported where AwsServices first builds it
    from collections.abc import Callable

    from invitations import ports
    from invitations.domain.rules import Rules
    from invitations.tokens import TokenSigner
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


class AwsServices:
    """The ports on AWS (use_cases.base.Services). Each adapter is built, and its module imported,
    on first use: a function loads only the adapters its requests reach (reading a patient record
    loads no messenger, no link signer and no list queries)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def unit_of_work(self) -> ports.UnitOfWork:
        from invitations.adapters.dynamo.unit_of_work import DynamoUnitOfWork

        return DynamoUnitOfWork(table())

    @cached_property
    def queries(self) -> ports.InvitationQueries:
        from invitations.adapters.dynamo.queries import DynamoQueries

        return DynamoQueries(table())

    @cached_property
    def messenger(self) -> ports.Messenger:
        from invitations.adapters.ses_sns import AwsMessenger

        s = self._settings
        return AwsMessenger(client, s.sender_email, s.sms_sender_id, s.ses_configuration_set)

    @cached_property
    def events(self) -> ports.EventPublisher:
        from invitations.adapters.eventbridge import AwsEventPublisher

        return AwsEventPublisher(client, self._settings.event_bus_name)

    @cached_property
    def _signer(self) -> TokenSigner:
        from invitations.tokens import TokenSigner

        return TokenSigner(link_secret)  # the ring is fetched on the first link or cursor

    @cached_property
    def links(self) -> ports.Links:
        from invitations.tokens import SignedLinks

        return SignedLinks(self._signer, self._settings.base_url, self._settings.patient_help_url)

    @cached_property
    def cursors(self) -> ports.Cursors:
        from invitations.tokens import SignedCursors

        return SignedCursors(self._signer)

    @cached_property
    def clock(self) -> ports.Clock:
        return SystemClock(self._settings.clock_offset_file)

    @cached_property
    def rules(self) -> Rules:
        return self._settings.rules()

    @cached_property
    def counter(self) -> ports.Counter:
        return PowertoolsCounter()

    @cached_property
    def pseudonyms(self) -> ports.Pseudonyms:
        from invitations.adapters.pseudonyms import HmacPseudonyms
        from invitations.keyring import stable_secret

        return HmacPseudonyms(lambda: stable_secret(link_secret()))  # never rotated: quotas keep their keys


if TYPE_CHECKING:  # mypy checks here that AwsServices gives the use cases every port they use
    _conforms: Callable[[Settings], Services] = AwsServices


@lru_cache(maxsize=1)
def services() -> AwsServices:
    """The use cases' Services (a port is replaced by assigning it: tests, the bench)."""
    return AwsServices(get_settings())


def reset() -> None:
    """Forget every cached object (tests change the environment between cases)."""
    for cached in (client, _session, link_secret, table, services, get_settings):
        cached.cache_clear()
