"""Test helpers: the stack built from template.yaml, and calls through the real handlers with
real-shaped API Gateway HTTP API (payload 2.0) events taken from events/."""

import copy
import functools
import importlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from local.events import EVENTS as EVENTS  # the samples, for the tests that read them
from local.events import api_event
from local.lambdas import LambdaContext
from local.streams import EventSourceMapping, ShardReader
from local.template import functions, load_template, placeholder_refs, table_definition, ttl_attribute
from tests.privacy import remember, remember_payload

ROOT = Path(__file__).resolve().parent.parent
FAILURE_QUEUE = "DispatchFailureQueue"  # the stream's on-failure destination
TEMPLATE = load_template()

ENV = {
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "EVENT_BUS_NAME": "invitations-test",
    "PUBLIC_BASE_URL": "https://invite.example.org",
    "LINK_SECRET_ID": "invitations-link-secret",
    "SENDER_EMAIL": "no-reply@invite.example.org",
    "SMS_SENDER_ID": "Cabinet",
    "VALIDITY_DAYS": "14",
    "RETENTION_DAYS": "90",
    "POWERTOOLS_SERVICE_NAME": "invitations",
    "POWERTOOLS_METRICS_NAMESPACE": "Invitations",
    "POWERTOOLS_DEV": "false",
}


def create_table(client: Any, name: str) -> None:
    """The table exactly as template.yaml declares it (keys, indexes, TTL)."""
    client.create_table(TableName=name, **table_definition(TEMPLATE))
    client.get_waiter("table_exists").wait(TableName=name)
    ttl = ttl_attribute(TEMPLATE)
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl})


def create_stack(table_name: str) -> dict[str, str]:
    """Everything but the table's data: bus (with a queue that records its events), secret, SES identity."""
    create_table(boto3.client("dynamodb"), table_name)
    events = boto3.client("events")
    bus_arn = events.create_event_bus(Name=ENV["EVENT_BUS_NAME"])["EventBusArn"]
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="recorded-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="record", EventBusName=ENV["EVENT_BUS_NAME"], EventPattern=json.dumps({"source": ["invitations"]})
    )
    events.put_targets(Rule="record", EventBusName=ENV["EVENT_BUS_NAME"], Targets=[{"Id": "q", "Arn": queue_arn}])
    ring = json.dumps({"current": 0, "k0": uuid.uuid4().hex * 2})  # a link key ring of one key (keyring.py)
    boto3.client("secretsmanager").create_secret(Name=ENV["LINK_SECRET_ID"], SecretString=ring)
    boto3.client("ses").verify_email_identity(EmailAddress=ENV["SENDER_EMAIL"])
    sqs.create_queue(QueueName=FAILURE_QUEUE)
    return {"bus_arn": bus_arn, "queue_url": queue_url}


def _lambda_shaped(record: dict[str, Any]) -> dict[str, Any]:
    """moto's stream record as Lambda delivers it (the creation time in epoch seconds)."""
    shaped = copy.deepcopy(record)
    created = shaped["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        shaped["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
    shaped["awsRegion"] = ENV["AWS_DEFAULT_REGION"]
    return shaped


def _to_failure_queue(info: dict[str, Any]) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=FAILURE_QUEUE)["QueueUrl"], MessageBody=json.dumps(info))


@functools.cache
def _dispatch_mapping(stream_arn: str) -> EventSourceMapping:
    [(function, source)] = [(spec, s) for spec in functions(TEMPLATE, refs=_FAKE_REFS) for s in spec.streams]
    invoke = lambda event: handler_of(function.code_dir.name)(event, FakeContext())  # noqa: E731
    return EventSourceMapping(source, stream_arn, invoke, on_failure=_to_failure_queue)


def failed_batches() -> list[dict[str, Any]]:
    """What the stream's on-failure destination received (positions of batches given up on)."""
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=FAILURE_QUEUE)["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


class MotoStream:
    """The table's stream as moto records it in this process, handed to the dispatch function the
    way template.yaml's event source mapping says (what Lambda does on AWS)."""

    def drain(self) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][ENV["AWS_DEFAULT_REGION"]].tables.get(os.environ["TABLE_NAME"])
        if table is None or table.stream_shard is None:
            return
        shard = table.stream_shard
        mapping = _dispatch_mapping(table.describe(base_key="Table")["Table"]["LatestStreamArn"])
        # How far this shard was handed over is kept on it: a new mock_aws() has a new shard.
        while len(shard.items) > getattr(shard, "handed_over", 0):  # dispatching may store new entries
            start = getattr(shard, "handed_over", 0)
            shard.handed_over = len(shard.items)
            mapping.process([_lambda_shaped(item.to_json()) for item in shard.items[start:]])


class LocalStream:
    """The table's stream as DynamoDB Local serves it (the Streams API), handed over the same way."""

    def __init__(self, endpoint: str, table_name: str) -> None:
        client = boto3.client("dynamodb", endpoint_url=endpoint)
        stream_arn = client.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._reader = ShardReader(boto3.client("dynamodbstreams", endpoint_url=endpoint), stream_arn)
        self._mapping = _dispatch_mapping(stream_arn)

    def drain(self) -> None:
        while records := self._reader.read():
            self._mapping.process(records)
            self._reader.done_with(records)


STREAM: MotoStream | LocalStream = MotoStream()


@dataclass
class Recorder:
    """What the stack sent: emails (SES), SMS (SNS) and events (EventBridge), oldest first. The
    table's stream is drained first: what the dispatcher would have sent by then."""

    queue_url: str
    _events: list[dict[str, Any]] = field(default_factory=list)

    def emails(self) -> list[dict[str, Any]]:
        STREAM.drain()
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return [
            {"to": m.destinations["ToAddresses"][0], "subject": m.subject, "body": m.body}
            for m in ses_backends[DEFAULT_ACCOUNT_ID][ENV["AWS_DEFAULT_REGION"]].sent_messages
        ]

    def sms(self) -> list[dict[str, Any]]:
        STREAM.drain()
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        messages = sns_backends[DEFAULT_ACCOUNT_ID][ENV["AWS_DEFAULT_REGION"]].sms_messages
        return [{"to": phone, "text": text} for phone, text, *_ in messages.values()]

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        STREAM.drain()
        sqs = boto3.client("sqs")
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                break
            for message in batch:
                self._events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return [e for e in self._events if detail_type is None or e["detail-type"] == detail_type]


def links_in(text: str) -> list[str]:
    return re.findall(r"https://invite\.example\.org/i/[A-Za-z0-9_-]+", text)


def FakeContext(remaining_ms: int = 10_000) -> LambdaContext:
    """The context Lambda passes, with this much time left (the dev server's own class)."""
    return LambdaContext("invitations-test", remaining_ms / 1000)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def _route_table() -> list[tuple[str, re.Pattern[str], str, bool, str]]:
    routes = []
    for spec in functions(TEMPLATE, refs=_FAKE_REFS):
        for route in spec.routes:
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
            routes.append((route.method, re.compile(f"^{pattern}$"), spec.code_dir.name, route.authorized, route.path))
    return routes


_FAKE_REFS = placeholder_refs(TEMPLATE)
ROUTES = _route_table()


def _route(method: str, path: str) -> tuple[str, re.Match[str], str, bool]:
    for route_method, pattern, function, authorized, route in ROUTES:
        match = pattern.match(path)
        if route_method == method and match:
            return route, match, function, authorized
    raise AssertionError(f"template.yaml has no route {method} {path}")


def handler_of(function: str) -> Any:
    return importlib.import_module(f"functions.{function}.app").lambda_handler


@dataclass
class Clinician:
    sub: str
    name: str


ALICE = Clinician("clinician-alice", "Dr Alice Martin")
BOB = Clinician("clinician-bob", "Dr Bob Lefèvre")


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    as_: Clinician | None = ALICE,
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> Answer:
    """One request through the function that template.yaml routes it to."""
    route, match, function, authorized = _route(method, path)
    event = api_event(
        function,
        method,
        route,
        path,
        match.groupdict(),
        claims={"sub": as_.sub, "name": as_.name} if authorized and as_ is not None else None,
        query=query,
        headers=headers,
        body=raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
    )
    remember_payload(body)
    result = handler_of(function)(event, FakeContext())
    STREAM.drain()  # as the stream would, within moments: the dispatcher's work is done on return
    answer = Answer(result["statusCode"], result.get("headers") or {}, result.get("body") or "")
    if answer.headers.get("Content-Type", "").startswith("application/json") and answer.text:
        remember_payload(answer.json)
    return answer


def token_of(link: str) -> str:
    token = link.rsplit("/i/", 1)[1]
    remember(token)
    return token
