"""What the in-process benchmarks drive: AWS's DynamoDB Local, tables exactly as template.yaml
declares them, the functions' real handlers with the template's environment, and delivery,
events and the link secret stubbed (nothing leaves 127.0.0.1)."""

import contextlib
import importlib
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from local import events
from local.lambdas import ACCOUNT_ID
from local.lambdas import LambdaContext as _LambdaContext
from local.template import (
    functions,
    load_template,
    placeholder_refs,
    table_definition,
    ttl_attribute,
)

REGION = "eu-west-3"
# Links and the SMS are measured with a production-like base URL (the SMS length depends on it).
PUBLIC_BASE_URL = "https://invite.example-sante.fr"
# Any AWS call that is not stubbed goes to this closed local port and fails at once.
NOWHERE = "http://127.0.0.1:9"
LINK_SECRET = b"bench-link-secret-" + b"x" * 46
CLINICIAN_NAME = "Dr Alice Martin"
SEED_WRITERS = 2
EVENTS_DIR = events.EVENTS
TEMPLATE = load_template()

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ENDPOINT_URL": NOWHERE,
}


def template_refs(table: str) -> dict[str, str]:
    """What the template's Refs stand for in the bench: parameters as deployed by default
    (MaxSendsPerDay, SmsCountries, ...), and the pseudo parameters its subscriptions name."""
    return placeholder_refs(
        TEMPLATE,
        Table=table,
        EventBus="invitations-bench",
        PublicBaseUrl=PUBLIC_BASE_URL,
        LinkSecret="invitations-bench-link-secret",
        SenderEmail="no-reply@example-sante.fr",
        SmsSenderId="Cabinet",
        ValidityDays="14",
        RetentionDays="90",
        **{"AWS::Region": REGION, "AWS::AccountId": ACCOUNT_ID, "AWS::StackName": "invitations-bench"},
    )


def function_env(table: str, dynamodb_endpoint: str) -> dict[str, str]:
    """The environment template.yaml gives the functions (Globals merged), pointed at 127.0.0.1."""
    env: dict[str, str] = {}
    for spec in functions(TEMPLATE, template_refs(table)):
        env.update(spec.environment)
    return {**env, **AWS_ENV, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint}


def create_table(client: Any, name: str) -> None:
    """The template's table without its stream: nothing in-process reads it (the dispatcher's
    records are handed over directly; the outbox section runs the dev server, stream and all), a
    stream costs no capacity on DynamoDB, and DynamoDB Local's slows every write down as records
    pile up (a PutItem took about 1 s once the search and expiry sections had seeded theirs)."""
    definition = {k: v for k, v in table_definition(TEMPLATE).items() if k != "StreamSpecification"}
    client.create_table(TableName=name, **definition)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ttl = ttl_attribute(TEMPLATE)
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl})


def LambdaContext(remaining_ms: int = 300_000) -> _LambdaContext:
    """The context Lambda passes (the dev server's own class), with this much time left."""
    return _LambdaContext("invitations-bench", remaining_ms / 1000)


def handler(function: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return importlib.import_module(f"functions.{function}.app").lambda_handler  # type: ignore[no-any-return]


def api_event(
    function: str,
    method: str,
    route: str,
    path_params: dict[str, str] | None = None,
    *,
    clinician: str | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    accept: str = "application/json",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event shaped like events/<function>.json (the one
    builder the tests use too: local/events.py)."""
    path = route
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    claims = {"sub": clinician, "name": CLINICIAN_NAME} if clinician is not None else None
    text = json.dumps(body) if body is not None else None
    return events.api_event(
        function, method, route, path, path_params, claims=claims, query=query, body=text, accept=accept
    )


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The handlers log and flush metrics to stdout, as in Lambda: that work is kept (it is part of
    each request) and its output discarded, so that stdout carries the table only."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def message_id() -> str:
    """Shaped like SES's message ids (what the dispatcher stores under MSG#<id>)."""
    raw = uuid.uuid4().hex
    return f"0100{raw[:12]}-{raw[12:20]}-{raw[20:24]}-{raw[24:28]}-{raw[28:]}{raw[:8]}-000000"


class StubMessenger:
    """Delivery stubbed (only the dispatcher delivers): the message is composed by the use case,
    then kept here, not sent; answers a provider's message id."""

    def __init__(self) -> None:
        self.sent = 0

    def send_email(self, to: str, subject: str, text: str, html: str, tags: Any = None) -> str:
        self.sent += 1
        return message_id()

    def send_sms(self, to: str, text: str) -> str:
        self.sent += 1
        return message_id()


class StubPublisher:
    """Events stubbed (only the dispatcher publishes): counted, not published."""

    def __init__(self) -> None:
        self.published = 0

    def publish(self, detail_type: str, detail: Any) -> None:
        self.published += 1


def signer() -> Any:
    from invitations.tokens import TokenSigner

    return TokenSigner(LINK_SECRET)


def pseudonyms() -> Any:
    """The quotas' pseudonyms, keyed from the bench's link secret instead of Secrets Manager."""
    from invitations.adapters.pseudonyms import HmacPseudonyms
    from invitations.keyring import stable_secret

    return HmacPseudonyms(lambda: stable_secret(LINK_SECRET))


class Stack:
    """One DynamoDB Local for the whole run; `use_table` rewires the service onto a fresh table."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        os.environ.update(AWS_ENV)
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        from invitations import runtime

        self._runtime = runtime
        self._meter: Any = None
        self.table = ""

    def use_table(self, name: str) -> Any:
        """A fresh table, the environment the template gives the functions, and the services as
        runtime.services() builds them, with delivery, events and the link secret stubbed."""
        from invitations.tokens import SignedCursors, SignedLinks

        os.environ.update(function_env(name, self.endpoint))
        self._runtime.reset()
        create_table(self.client, name)
        services = self._runtime.services()
        services.messenger = StubMessenger()
        services.events = StubPublisher()
        services.links = SignedLinks(signer(), PUBLIC_BASE_URL)
        services.cursors = SignedCursors(signer())
        services.pseudonyms = pseudonyms()
        self.table = name
        return services

    @property
    def client(self) -> Any:
        """The very client the service uses (same pool, same retry configuration)."""
        return self._runtime.client("dynamodb")

    @property
    def services(self) -> Any:
        return self._runtime.services()

    @property
    def meter(self) -> Any:
        """The pricing meter of the client the service uses (a new one with each new client),
        reading what it prices with a client of its own."""
        from bench.pricing import Meter

        client = self.client
        if self._meter is None or self._meter.client is not client:
            reader = boto3.session.Session().client("dynamodb", endpoint_url=self.endpoint)
            self._meter = Meter(client, reader)
        return self._meter


# -- items: the service's own mapping, so that seeds and bare calls write what the service writes --

RETENTION = timedelta(days=90)  # the template's RetentionDays


def invitation_item(inv: Any) -> dict[str, Any]:
    from invitations.adapters.dynamo.items import invitation_item as item

    return item(inv, RETENTION)  # type: ignore[no-any-return]


def name_items(inv: Any) -> list[dict[str, Any]]:
    from invitations.adapters.dynamo.name_index import entry, indexed_words

    return [entry(inv, word, RETENTION) for word in sorted(indexed_words(inv))]


def quota_item(quota: Any) -> dict[str, Any]:
    from invitations.adapters.dynamo.items import quota_item as item

    return item(quota)  # type: ignore[no-any-return]


def day_counter(clinician: str, rules: Any, at: datetime) -> Any:
    """A clinician's counter of the day's messages, stored with one send counted already."""
    from invitations.domain import quotas

    return replace(quotas.take(quotas.Quota(f"clinician#{clinician}"), quotas.per_clinician(rules), at), rev=1)


def quota_key(key: str) -> dict[str, Any]:
    from invitations.adapters.dynamo.items import quota_key as item_key

    return item_key(key)  # type: ignore[no-any-return]


def event_items(event: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a change writes for each event it raises: its outbox entry and its history entry."""
    from invitations.adapters.dynamo import items
    from invitations.domain import history

    return items.outbox_item(items.outbox_entry(event)), items.history_item(history.of_event(event))


def patient_item(patient: Any) -> dict[str, Any]:
    from invitations.adapters.dynamo.items import patient_item as item

    return item(patient)  # type: ignore[no-any-return]


def invitation_key(invitation_id: str) -> dict[str, Any]:
    from invitations.adapters.dynamo.items import invitation_key as key

    return key(invitation_id)  # type: ignore[no-any-return]


def patient_key(patient_id: str) -> dict[str, Any]:
    from invitations.adapters.dynamo.items import patient_key as key

    return key(patient_id)  # type: ignore[no-any-return]


def new_invitation(
    clinician: str,
    first: str,
    last: str,
    sent_at: datetime,
    *,
    email: str | None = None,
    phone: str | None = None,
    locale: str = "fr",
    validity: timedelta = timedelta(days=14),
    time_zone: str | None = None,
) -> Any:
    """A pending invitation as the service creates it (random id), delivered."""
    from invitations.domain.invitation import DEFAULT_TIME_ZONE, Contact, DeliveryOutcome, create
    from invitations.domain.rules import Rules

    email = email or (None if phone else f"{first[:1]}.{last}@example.org".lower())
    contact = Contact(first, last, email, phone, locale, time_zone or DEFAULT_TIME_ZONE)
    inv = create(contact, clinician, CLINICIAN_NAME, sent_at, Rules(validity=validity))
    return replace(inv, delivery=DeliveryOutcome("sent", sent_at))


# A reminder goes out between 09:00 and 20:00 where the patient is; at any hour of the day, one of
# these zones is within those hours (each covers 11 of them, together all 24 with an overlap).
REMINDER_ZONES = ("Europe/Paris", "Asia/Tokyo", "America/Los_Angeles")


def reminder_due(clinician: str, first: str, last: str, now: datetime) -> Any:
    """A pending invitation whose one reminder is due now: sent 12 days ago with 14 days of
    validity (the reminder, 3 days before expiry, came due a day ago), to a patient for whom it is
    daytime now and for the next half hour (however long the run takes)."""
    from invitations.domain.rules import Rules

    later = now + timedelta(minutes=30)
    zone = next(z for z in REMINDER_ZONES if Rules().reminder_hours(now, z) and Rules().reminder_hours(later, z))
    return new_invitation(clinician, first, last, now - timedelta(days=12), time_zone=zone)


def _write_batch(client: Any, table: str, items: Sequence[dict[str, Any]]) -> None:
    pending: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items]
    for _ in range(20):
        response = client.batch_write_item(RequestItems={table: pending})
        pending = response.get("UnprocessedItems", {}).get(table, [])
        if not pending:
            return
    raise RuntimeError("DynamoDB Local kept items unprocessed")


def seed(client: Any, table: str, items: Sequence[dict[str, Any]]) -> None:
    """Batch writes of 25 items, unprocessed ones retried a bounded number of times. Two writers:
    DynamoDB Local takes them about twice as fast as one on this 2-core machine."""
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]
    with ThreadPoolExecutor(max_workers=SEED_WRITERS) as pool:
        list(pool.map(lambda batch: _write_batch(client, table, batch), batches))  # re-raises a failure


def now() -> datetime:
    return datetime.now(UTC)


def invoke(
    bench_stack: Stack, function: str, event: dict[str, Any], remaining_ms: int = 300_000, priced: bool = True
) -> tuple[Any, Any]:
    """One call of a function's handler; returns (its answer, its DynamoDB calls' `pricing.Bill`)."""
    with quiet_stdout(), bench_stack.meter.measure(priced) as bill:
        answer = handler(function)(event, LambdaContext(remaining_ms))
    return answer, bill
