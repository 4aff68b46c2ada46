"""The AWS side of the local stack: moto server (SES, SNS, EventBridge, SQS, Secrets Manager) as
a child process, and every resource the functions need, created from template.yaml."""

import json
import os
import secrets
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local import auth
from local.dynamodb_local import free_port
from local.lambdas import ACCOUNT_ID, REGION
from local.processes import stop
from local.template import (
    is_deployed,
    parameter_defaults,
    resolve,
    resources_of_type,
    table_definition,
    ttl_attribute,
)

STACK_NAME = "invitations-local"
SENDER_EMAIL = "no-reply@invitations.localhost"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}  # fake: nothing leaves the machine
RECORDING_FILE = "moto-requests.jsonl"
OUTBOX_QUEUE = "local-outbox-events"


def aws_client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=30),
    )


class MotoServer:
    """`python -m moto.server` on a free port. Its recorder logs each request it receives to a
    file in the data folder: the outbox reads the emails and SMS from there, exactly as sent."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.recording = data_dir / RECORDING_FILE
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 30) -> "MotoServer":
        env = {
            **os.environ,
            "MOTO_RECORDER_FILEPATH": str(self.recording),
            "LOCAL_DATA_DIR": str(self.data_dir),  # marks the process as this stack's (see processes.py)
            **CREDENTIALS,
        }
        log = (self.data_dir / "moto.log").open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our Ctrl-C handler stops it, after the last request is served
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with code {self._process.returncode}, see moto.log")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("moto server did not answer in time")
            time.sleep(0.1)
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1) as answer:  # noqa: S310 - our URL
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start_recording(self) -> None:
        """Record from now on: the setup calls (the secret's value among them) stay out of the file."""
        url = f"{self.endpoint}/moto-api/recorder/start-recording"
        request = urllib.request.Request(url, method="POST")  # noqa: S310 - our URL
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - our URL
            pass

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process)
            self._process = None


@dataclass
class Provisioned:
    refs: dict[str, Any]  # Ref / GetAtt values, as CloudFormation would give them
    outbox_queue_url: str
    resources: list[str] = field(default_factory=list)  # what was set up, for the banner
    streams: dict[str, str] = field(default_factory=dict)  # table's logical id -> its stream's ARN (DynamoDB Local's)


def _physical_name(logical_id: str, props: dict[str, Any], name_key: str, params: dict[str, Any]) -> str:
    if name_key in props:
        scalars = {k: v for k, v in params.items() if isinstance(v, str)}  # Fn::Sub takes strings only
        return str(resolve(props[name_key], scalars))
    return f"{STACK_NAME}-{logical_id}"  # CloudFormation would generate one


def _generated_secret(spec: dict[str, Any]) -> str:
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
    generated = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "GenerateStringKey" in spec:  # as CloudFormation: the string goes into the template's JSON object
        return json.dumps({**json.loads(spec.get("SecretStringTemplate", "{}")), spec["GenerateStringKey"]: generated})
    return generated


def _persistent_secret(data_dir: Path, logical_id: str, spec: dict[str, Any]) -> str:
    """Generated once and kept: the links already sent are signed with it, and must keep working
    after a restart (moto forgets everything when it stops)."""
    path = data_dir / f"secret-{logical_id}.txt"
    if not path.exists():
        path.write_text(_generated_secret(spec))
        path.chmod(0o600)
    return path.read_text()


class OutdatedTable(SystemExit):
    """The data folder's table cannot be brought up to the template in place."""


def _wait_active(dynamodb: Any, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        table = dynamodb.describe_table(TableName=name)["Table"]
        busy = table["TableStatus"] != "ACTIVE" or any(
            g.get("IndexStatus") != "ACTIVE" for g in table.get("GlobalSecondaryIndexes", [])
        )
        if not busy:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"table {name} did not become ACTIVE in time")
        time.sleep(0.1)


def bring_up_to_date(dynamodb: Any, name: str, definition: dict[str, Any]) -> list[str]:
    """A table kept from an older version of the template (an older data folder) gets what the
    template added since: its stream, its missing indexes (UpdateTable, as CloudFormation would).
    What cannot change in place (the keys, an index's keys, the stream's view) stops the start
    with the way out: `make clean`. Returns what was changed."""
    table = dynamodb.describe_table(TableName=name)["Table"]
    advice = f"The local table {name} was made by an older version and cannot be updated in place"
    if table["KeySchema"] != definition["KeySchema"]:
        raise OutdatedTable(
            f"{advice} (its keys differ): run `make clean` (it erases the local data), then `make dev`."
        )
    changes: list[str] = []
    wanted_stream = definition.get("StreamSpecification")
    current_stream = table.get("StreamSpecification") or {}
    if wanted_stream and not current_stream.get("StreamEnabled"):
        dynamodb.update_table(TableName=name, StreamSpecification=wanted_stream)
        _wait_active(dynamodb, name)
        changes.append("stream enabled")
    elif wanted_stream and current_stream.get("StreamViewType") != wanted_stream["StreamViewType"]:
        raise OutdatedTable(
            f"{advice} (its stream differs): run `make clean` (it erases the local data), then `make dev`."
        )
    attributes = {a["AttributeName"]: a for a in definition["AttributeDefinitions"]}
    existing = {g["IndexName"]: g for g in table.get("GlobalSecondaryIndexes", [])}
    for index in definition.get("GlobalSecondaryIndexes", []):
        found = existing.get(index["IndexName"])
        if found is not None:
            if found["KeySchema"] != index["KeySchema"]:
                raise OutdatedTable(
                    f"{advice} (index {index['IndexName']} differs): run `make clean` (it erases the local data), "
                    "then `make dev`."
                )
            continue
        keys = [attributes[k["AttributeName"]] for k in index["KeySchema"]]
        dynamodb.update_table(
            TableName=name, AttributeDefinitions=keys, GlobalSecondaryIndexUpdates=[{"Create": index}]
        )
        _wait_active(dynamodb, name)
        changes.append(f"index {index['IndexName']} added")
    return changes


def parameters(template: dict[str, Any], public_base_url: str) -> dict[str, Any]:
    """Template parameters as the local stack deploys them, plus the pseudo parameters."""
    return {
        **parameter_defaults(template),
        "JwtIssuer": auth.ISSUER,
        "JwtAudience": [auth.AUDIENCE],
        "SenderEmail": SENDER_EMAIL,
        "PublicBaseUrl": public_base_url,
        # The web clinician app's origins (the AllowedOrigins parameter): `ALLOWED_ORIGINS=... make dev`.
        "AllowedOrigins": os.environ.get("ALLOWED_ORIGINS", "").strip(),
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": STACK_NAME,
    }


def provision(
    template: dict[str, Any], params: dict[str, Any], dynamodb_endpoint: str, moto_endpoint: str, data_dir: Path
) -> Provisioned:
    refs: dict[str, Any] = dict(params)
    resources: list[str] = []
    streams: dict[str, str] = {}

    dynamodb = aws_client("dynamodb", dynamodb_endpoint)
    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        if not is_deployed(template, resource, params):
            continue
        name = _physical_name(logical_id, resource["Properties"], "TableName", params)
        definition = table_definition(template, logical_id)
        if name in dynamodb.list_tables()["TableNames"]:
            changes = bring_up_to_date(dynamodb, name, definition)
            resources.append(f"table {name} ({'; '.join(changes) if changes else 'kept'})")
        else:
            dynamodb.create_table(TableName=name, **definition)
            dynamodb.get_waiter("table_exists").wait(TableName=name)
            resources.append(f"table {name} (created)")
        ttl = ttl_attribute(template, logical_id)
        if ttl and dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"].get(
            "TimeToLiveStatus"
        ) not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl}
            )
        refs[logical_id] = name
        refs[f"{logical_id}.Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        stream_arn = dynamodb.describe_table(TableName=name)["Table"].get("LatestStreamArn")
        if stream_arn:
            streams[logical_id] = stream_arn  # DynamoDB Local's own ARN, for its Streams API
            label = stream_arn.rsplit("/stream/", 1)[-1]
            refs[f"{logical_id}.StreamArn"] = f"{refs[f'{logical_id}.Arn']}/stream/{label}"

    sqs = aws_client("sqs", moto_endpoint)
    for logical_id, resource in resources_of_type(template, "AWS::SQS::Queue").items():
        if not is_deployed(template, resource, params):
            continue
        name = _physical_name(logical_id, resource["Properties"], "QueueName", params)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        refs[logical_id] = url  # Ref of a queue is its URL
        refs[f"{logical_id}.Arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        refs[f"{logical_id}.QueueName"] = name
        resources.append(f"queue {name}")

    events = aws_client("events", moto_endpoint)
    queue_url = sqs.create_queue(QueueName=OUTBOX_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for logical_id, resource in resources_of_type(template, "AWS::Events::EventBus").items():
        if not is_deployed(template, resource, params):
            continue
        name = _physical_name(logical_id, resource["Properties"], "Name", params)
        arn = events.create_event_bus(Name=name)["EventBusArn"]
        # The outbox's copy of every event on the bus (all of this account's events match).
        events.put_rule(Name="local-outbox", EventBusName=name, EventPattern=json.dumps({"account": [ACCOUNT_ID]}))
        events.put_targets(Rule="local-outbox", EventBusName=name, Targets=[{"Id": "outbox", "Arn": queue_arn}])
        refs[logical_id] = name
        refs[f"{logical_id}.Arn"] = arn
        refs[f"{logical_id}.Name"] = name
        resources.append(f"event bus {name}")

    secretsmanager = aws_client("secretsmanager", moto_endpoint)
    for logical_id, resource in resources_of_type(template, "AWS::SecretsManager::Secret").items():
        if not is_deployed(template, resource, params):
            continue
        props = resource["Properties"]
        value = props.get("SecretString") or _persistent_secret(data_dir, logical_id, props["GenerateSecretString"])
        name = _physical_name(logical_id, props, "Name", params)
        arn = secretsmanager.create_secret(Name=name, SecretString=str(resolve(value, params)))["ARN"]
        refs[logical_id] = arn  # Ref of a secret is its ARN
        resources.append(f"secret {name}")

    ses = aws_client("ses", moto_endpoint)
    ses.verify_email_identity(EmailAddress=str(params["SenderEmail"]))
    resources.append(f"SES identity {params['SenderEmail']}")
    # Every email is sent with the template's configuration set (SES refuses an unknown one). Its
    # event destination is not created: moto publishes no events; local/simulators.py does.
    for logical_id, resource in resources_of_type(template, "AWS::SES::ConfigurationSet").items():
        if not is_deployed(template, resource, params):
            continue
        name = _physical_name(logical_id, resource.get("Properties") or {}, "Name", params)
        if name not in {c["Name"] for c in ses.list_configuration_sets().get("ConfigurationSets", [])}:
            ses.create_configuration_set(ConfigurationSet={"Name": name})
        refs[logical_id] = name  # Ref of a configuration set is its name
        resources.append(f"SES configuration set {name}")
    for logical_id in resources_of_type(template, "AWS::Serverless::LayerVersion"):
        refs[logical_id] = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{logical_id}:1"
    return Provisioned(refs=refs, outbox_queue_url=queue_url, resources=resources, streams=streams)
