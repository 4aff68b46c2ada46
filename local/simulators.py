"""The providers' reports for `make dev`, as AWS's own simulators give them: SES's mailbox
simulator (`success@`, `bounce@`, `complaint@`, `suppressionlist@simulator.amazonses.com`, and
their `+label` variants; any other address is delivered) and SMS simulator numbers
(+33755512501 delivered, +33755512502 failed; any other number delivered).

The functions run in the dev server's process and build their clients from one botocore session
(invitations.runtime): an `after-call` handler on that session sees each SendEmail and Publish
that went through (its parameters and the MessageId moto answered) and queues what AWS would
report a moment later. A background thread then hands each report to the function the template
subscribes, through the dev server's FunctionHost (one invocation at a time, never inside the
sender's own invocation), by the same path as on AWS:

- SES's events as EventBridge delivers them (`source: aws.ses`, `detail.mail.tags` with
  `ses:configuration-set`), to every function whose EventBridgeRule on the default bus matches
  (the template's own pattern, resolved; local/streams.py `matches`). No configuration set on
  the email: no event, as with SES.
- SNS's SMS delivery-status log records, as a CloudWatch Logs subscription delivers them
  (`{"awslogs": {"data": base64(gzip(json))}}`), to the functions subscribed to
  `sns/<region>/<account>/DirectPublishToPhoneNumber` (success) or `.../Failure`.

What was sent and reported is appended to the data folder (local/outbox.py `DELIVERY_FILE`,
message ids and outcomes only: never an address, a number or a text) for the outbox to show.
Reports still queued when the dev server stops are lost (in memory)."""

import base64
import gzip
import heapq
import itertools
import json
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from local.clock import LocalClock, iso
from local.lambdas import ACCOUNT_ID, REGION, FunctionHost
from local.outbox import DELIVERY_FILE, message_key
from local.streams import matches
from local.template import Conditions, resolve

SES_SIMULATOR_DOMAIN = "simulator.amazonses.com"
# The mailbox simulator's addresses (before any +label) -> what SES reports; any other: delivered.
EMAIL_OUTCOMES = {
    "success": "delivered",
    "bounce": "bounced",
    "complaint": "complained",
    "suppressionlist": "suppressed",
}
SMS_OUTCOMES = {"+33755512501": "delivered", "+33755512502": "failed"}
DETAIL_TYPES = {
    "Send": "Email Sent",
    "Delivery": "Email Delivered",
    "Bounce": "Email Bounced",
    "Complaint": "Email Complaint Received",
}
SMS_LOG_GROUP = "sns/{region}/{account}/DirectPublishToPhoneNumber"
# Seconds after the send: SES's Send event, its Delivery or Bounce, a complaint; SNS's record.
SEND_AFTER, OUTCOME_AFTER, COMPLAINT_AFTER, SMS_AFTER = 0.2, 0.5, 1.0, 0.5
RETRY_SECONDS = (1.0, 2.0)  # an asynchronous invocation that fails is tried twice more (EventInvokeConfig)
_HANDLER_ID = "local-simulators"
_PARAMS = "local-simulators-params"  # where the call's parameters wait for its after-call


def email_outcome(address: str) -> str:
    """delivered, bounced, complained (delivered first) or suppressed (a bounce)."""
    local, _, domain = address.strip().rpartition("@")
    if domain.lower() != SES_SIMULATOR_DOMAIN:
        return "delivered"
    return EMAIL_OUTCOMES.get(local.split("+", 1)[0].lower(), "delivered")


def sms_outcome(phone: str) -> str:
    return SMS_OUTCOMES.get(phone.strip(), "delivered")


# -- the template's subscriptions --------------------------------------------------------------


@dataclass(frozen=True)
class RuleTarget:
    """A function's EventBridgeRule on the default bus (SES publishes there only)."""

    function: str
    pattern: dict[str, Any]


@dataclass(frozen=True)
class LogSubscription:
    """A function's CloudWatchLogs subscription (every record: an empty filter pattern)."""

    function: str
    log_group: str
    filter_name: str


@dataclass
class Subscriptions:
    rules: list[RuleTarget] = field(default_factory=list)
    logs: list[LogSubscription] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what is not emulated, for the log


def subscriptions(template: dict[str, Any], refs: dict[str, Any], functions: set[str]) -> Subscriptions:
    """The EventBridge rules and log subscriptions of the template's functions (those deployed:
    `functions`), resolved with the stack's references."""
    found = Subscriptions()
    conditions = Conditions(template, refs)
    stack = str(refs.get("AWS::StackName", "stack"))
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function" or logical_id not in functions:
            continue
        for name, event in (resource["Properties"].get("Events") or {}).items():
            props = event.get("Properties") or {}
            if event.get("Type") == "EventBridgeRule":
                bus = resolve(props.get("EventBusName", "default"), refs, conditions)
                if bus not in ("default", f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default"):
                    continue  # the service's own bus: not where SES publishes
                found.rules.append(RuleTarget(logical_id, resolve(props["Pattern"], refs, conditions)))
            elif event.get("Type") == "CloudWatchLogs":
                group = str(resolve(props["LogGroupName"], refs, conditions))
                if resolve(props.get("FilterPattern", ""), refs, conditions):
                    found.skipped.append(f"{logical_id}.{name} (a filter pattern)")
                    continue
                found.logs.append(LogSubscription(logical_id, group, f"{stack}-{logical_id}{name}"))
    return found


def rule_matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching of an event: local/streams.py `matches`, plus what events need and
    stream records never do: a list in the event (SES's tags are lists) matches a pattern's
    values when any of its items does."""
    if not (isinstance(pattern, dict) and isinstance(event, dict)):
        return matches(pattern, event)
    for key, sub in pattern.items():
        value = event.get(key)
        if isinstance(sub, list) and isinstance(value, list):
            if not any(matches(sub, item) for item in value):
                return False
        elif isinstance(sub, dict) and key in event:
            if not rule_matches(sub, value):
                return False
        elif not matches({key: sub}, event):
            return False
    return True


# -- the reports, shaped as AWS's ----------------------------------------------------------------


def _second_after(moment: datetime) -> str:
    """EventBridge's `time` (whole seconds), never before the moment (the history stays in order)."""
    whole = moment.replace(microsecond=0)
    if whole < moment:
        whole += timedelta(seconds=1)
    return whole.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    source: str
    to: list[str]
    subject: str
    configuration_set: str
    tags: dict[str, str]
    at: datetime


def ses_event(kind: str, mail: SentEmail, at: datetime, outcome: str = "delivered") -> dict[str, Any]:
    """One SES event as EventBridge delivers it (events/delivery_reports.json's shape)."""
    stamp = iso(at)
    detail: dict[str, Any] = {
        "eventType": kind,
        "mail": {
            "timestamp": iso(mail.at),
            "source": mail.source,
            "sendingAccountId": ACCOUNT_ID,
            "messageId": mail.message_id,
            "destination": list(mail.to),
            "headersTruncated": False,
            "commonHeaders": {"from": [mail.source], "to": list(mail.to), "subject": mail.subject},
            "tags": {
                "ses:configuration-set": [mail.configuration_set],
                "ses:operation": ["SendEmail"],
                "ses:source-ip": ["127.0.0.1"],
                "ses:from-domain": [mail.source.rpartition("@")[2]],
                "ses:caller-identity": ["local"],
                **{name: [value] for name, value in mail.tags.items()},
            },
        },
    }
    mta = f"dns; a1-1.smtp-out.{REGION}.amazonses.com"
    if kind == "Send":
        detail["send"] = {}
    elif kind == "Delivery":
        detail["delivery"] = {
            "timestamp": stamp,
            "processingTimeMillis": int((at - mail.at).total_seconds() * 1000),
            "recipients": list(mail.to),
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": mta.removeprefix("dns; "),
        }
    elif kind == "Bounce":
        suppressed = outcome == "suppressed"
        diagnostic = (
            "Amazon SES did not send the message to this address because it is on the suppression list for your account."
            if suppressed
            else "smtp; 550 5.1.1 user unknown"
        )
        detail["bounce"] = {
            "feedbackId": f"{uuid.uuid4().hex}-000000",
            "bounceType": "Permanent",
            "bounceSubType": "OnAccountSuppressionList" if suppressed else "General",
            "bouncedRecipients": [
                {"emailAddress": to, "action": "failed", "status": "5.1.1", "diagnosticCode": diagnostic}
                for to in mail.to
            ],
            "timestamp": stamp,
            "reportingMTA": "dns; amazonses.com" if suppressed else mta,
        }
    elif kind == "Complaint":
        detail["complaint"] = {
            "feedbackId": f"{uuid.uuid4().hex}-000000",
            "complainedRecipients": [{"emailAddress": to} for to in mail.to],
            "timestamp": stamp,
            "userAgent": "Amazon SES Mailbox Simulator",
            "complaintFeedbackType": "abuse",
            "arrivalDate": stamp,
        }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPES[kind],
        "source": "aws.ses",
        "account": ACCOUNT_ID,
        "time": _second_after(at),
        "region": REGION,
        "resources": [f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:configuration-set/{mail.configuration_set}"],
        "detail": detail,
    }


def sms_log_record(message_id: str, phone: str, sms_type: str, sent: datetime, failed: bool) -> dict[str, Any]:
    """One SMS delivery-status record as SNS logs it (events/delivery_reports_sms.json's shape)."""
    return {
        "notification": {"messageId": message_id, "timestamp": sent.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]},
        "delivery": {
            "mnc": 1,
            "numberOfMessageParts": 1,
            "destination": phone,
            "priceInUSD": 0.07,
            "smsType": sms_type,
            "mcc": 208,
            "providerResponse": (
                "Phone is currently unreachable/unavailable" if failed else "Message has been accepted by phone carrier"
            ),
            "dwellTimeMs": 512,
            "dwellTimeMsUntilDeviceAck": 1403,
        },
        "status": "FAILURE" if failed else "SUCCESS",
    }


def subscription_event(log_group: str, filter_name: str, record: dict[str, Any], at: datetime) -> dict[str, Any]:
    """A CloudWatch Logs subscription delivery of one log event (gzip, base64)."""
    data = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT_ID,
        "logGroup": log_group,
        "logStream": str(uuid.uuid4()),
        "subscriptionFilters": [filter_name],
        "logEvents": [
            {
                "id": "".join(secrets.choice("0123456789") for _ in range(56)),
                "timestamp": math.floor(at.timestamp() * 1000),
                "message": json.dumps(record),
            }
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}}


# -- the simulators ------------------------------------------------------------------------------


@dataclass(order=True)
class _Due:
    at: float  # monotonic
    seq: int
    function: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    label: str = field(compare=False)  # what the log line says (never an address)
    message_id: str = field(compare=False)
    status: str = field(compare=False)  # what the report says of the message
    detail: str | None = field(compare=False, default=None)
    attempt: int = field(compare=False, default=0)


class Simulators:
    """Installed on the functions' session before each invocation (idempotent, like the faults);
    `start` runs the thread that hands the reports over."""

    def __init__(
        self,
        template: dict[str, Any],
        refs: dict[str, Any],
        host: FunctionHost,
        data_dir: Path,
        stopping: threading.Event,
        say: Callable[[str], None] = print,
    ) -> None:
        self.host = host
        self.subscriptions = subscriptions(template, refs, set(host.functions))
        self._clock = LocalClock(data_dir)
        self._file = data_dir / DELIVERY_FILE
        self._stopping = stopping
        self._say = say
        self._due: list[_Due] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._file_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- the calls --------------------------------------------------------------------------------

    def install(self, session: Any) -> None:
        """Every client the session builds from now on tells the simulators what it sent."""
        events = session.events if hasattr(session, "events") else session.get_component("event_emitter")
        for service, operation in (("ses", "SendEmail"), ("sns", "Publish")):
            events.register(
                f"before-parameter-build.{service}.{operation}",
                _keep_params,
                unique_id=f"{_HANDLER_ID}-params-{service}",
            )
            events.register(f"after-call.{service}.{operation}", self._after_call, unique_id=f"{_HANDLER_ID}-{service}")

    def _after_call(self, http_response: Any = None, parsed: Any = None, model: Any = None, **kwargs: Any) -> None:
        context = kwargs.get("context") or {}
        params = context.get(_PARAMS)
        status = getattr(http_response, "status_code", 500)
        if not isinstance(params, dict) or not isinstance(parsed, dict) or status >= 300:
            return  # refused (a fault, moto's error): the provider reports nothing
        message_id = parsed.get("MessageId")
        if not message_id:
            return
        try:
            if getattr(model, "name", "") == "SendEmail":
                self._email_sent(params, str(message_id))
            elif params.get("PhoneNumber"):
                self._sms_sent(params, str(message_id))
        except Exception as error:  # noqa: BLE001 - a simulator's fault must never fail the send
            self._say(f"simulators: no report for a message ({type(error).__name__})")

    def _email_sent(self, params: dict[str, Any], message_id: str) -> None:
        now = self._clock.now()
        to = list((params.get("Destination") or {}).get("ToAddresses") or [])
        text = (((params.get("Message") or {}).get("Body") or {}).get("Text") or {}).get("Data", "")
        configuration_set = str(params.get("ConfigurationSetName") or "")
        self._record(
            {"key": message_key("email", ", ".join(to), text), "message_id": message_id, "channel": "email"},
            "sent",
            None if configuration_set else "no configuration set: SES reports nothing",
        )
        if not configuration_set:
            return
        mail = SentEmail(
            message_id=message_id,
            source=str(params.get("Source") or ""),
            to=to,
            subject=str(((params.get("Message") or {}).get("Subject") or {}).get("Data", "")),
            configuration_set=configuration_set,
            tags={str(t.get("Name")): str(t.get("Value")) for t in params.get("Tags") or []},
            at=now,
        )
        outcome = email_outcome(to[0]) if to else "delivered"
        plan: list[tuple[float, str, str, str | None]] = [(SEND_AFTER, "Send", "sent", None)]
        if outcome in ("bounced", "suppressed"):
            subtype = "OnAccountSuppressionList" if outcome == "suppressed" else "General"
            plan.append((OUTCOME_AFTER, "Bounce", "bounced", f"permanent bounce: {subtype}"))
        else:
            plan.append((OUTCOME_AFTER, "Delivery", "delivered", None))
        if outcome == "complained":
            plan.append((COMPLAINT_AFTER, "Complaint", "complained", "marked as spam"))
        for after, kind, status, detail in plan:
            event = ses_event(kind, mail, now + timedelta(seconds=after), outcome)
            targets = [rule.function for rule in self.subscriptions.rules if rule_matches(rule.pattern, event)]
            if not targets:
                self._record({"message_id": message_id, "report": DETAIL_TYPES[kind]}, status, "no rule matched")
            for function in targets:
                self._queue(after, function, event, DETAIL_TYPES[kind], message_id, status, detail)

    def _sms_sent(self, params: dict[str, Any], message_id: str) -> None:
        now = self._clock.now()
        phone = str(params["PhoneNumber"])
        attributes = params.get("MessageAttributes") or {}
        sms_type = str((attributes.get("AWS.SNS.SMS.SMSType") or {}).get("StringValue") or "Promotional")
        self._record(
            {
                "key": message_key("sms", phone, str(params.get("Message") or "")),
                "message_id": message_id,
                "channel": "sms",
            },
            "sent",
            None,
        )
        failed = sms_outcome(phone) == "failed"
        record = sms_log_record(message_id, phone, sms_type, now, failed)
        group = SMS_LOG_GROUP.format(region=REGION, account=ACCOUNT_ID) + ("/Failure" if failed else "")
        label = f"SMS delivery status {record['status']}"
        status, detail = ("failed", record["delivery"]["providerResponse"]) if failed else ("delivered", None)
        targets = [s for s in self.subscriptions.logs if s.log_group == group]
        if not targets:
            self._record({"message_id": message_id, "report": label}, status, "no subscription")
        for target in targets:
            event = subscription_event(group, target.filter_name, record, now + timedelta(seconds=SMS_AFTER))
            self._queue(SMS_AFTER, target.function, event, label, message_id, status, detail)

    # -- the reports --------------------------------------------------------------------------------

    def _queue(
        self,
        after: float,
        function: str,
        event: dict[str, Any],
        label: str,
        message_id: str,
        status: str,
        detail: str | None,
    ) -> None:
        due = _Due(time.monotonic() + after, next(self._seq), function, event, label, message_id, status, detail)
        with self._wake:
            heapq.heappush(self._due, due)
            self._wake.notify()

    def _next(self) -> _Due | None:
        """The next report once it is due; None when stopping."""
        with self._wake:
            while not self._stopping.is_set():
                wait = (self._due[0].at - time.monotonic()) if self._due else 0.25
                if self._due and wait <= 0:
                    return heapq.heappop(self._due)
                self._wake.wait(min(max(wait, 0.01), 0.25))
        return None

    def pending(self) -> int:
        with self._lock:
            return len(self._due)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="provider-simulators", daemon=True)
        self._thread.start()

    def run(self) -> None:
        while (due := self._next()) is not None:
            self.deliver(due)

    def deliver(self, due: _Due) -> None:
        function = self.host.functions[due.function]
        started = time.monotonic()
        try:
            answer = self.host.invoke(function, due.event)
        except Exception as error:  # noqa: BLE001 - a function error: tried again, as Lambda does
            elapsed = (time.monotonic() - started) * 1000
            if due.attempt < len(RETRY_SECONDS):
                self._say(f"report {due.function} {due.label} {elapsed:.0f}ms function error {type(error).__name__}")
                retry = RETRY_SECONDS[due.attempt]
                due.attempt += 1
                due.at, due.seq = time.monotonic() + retry, next(self._seq)
                with self._wake:
                    heapq.heappush(self._due, due)
                return
            self._say(f"report {due.function} {due.label}: gave up after {due.attempt + 1} attempts")
            self._record({"message_id": due.message_id, "report": due.label}, due.status, "the function failed")
            return
        elapsed = (time.monotonic() - started) * 1000
        recorded = answer.get("recorded") if isinstance(answer, dict) else None
        self._say(f"report {due.function} {due.label} {elapsed:.0f}ms")
        if due.label != DETAIL_TYPES["Send"]:
            self._record(
                {"message_id": due.message_id, "report": due.label, "recorded": recorded}, due.status, due.detail
            )

    def _record(self, entry: dict[str, Any], status: str, detail: str | None) -> None:
        """One line for the outbox: ids, outcomes and the provider's words only."""
        line = {**entry, "status": status, "detail": detail, "at": iso(self._clock.now())}
        with self._file_lock, self._file.open("a", encoding="utf-8") as file:
            file.write(json.dumps(line) + "\n")


def _keep_params(params: Any = None, context: Any = None, **_: Any) -> None:
    """Before the call: its parameters, for the after-call (the parsed answer has only the id)."""
    if isinstance(context, dict) and isinstance(params, dict):
        context[_PARAMS] = dict(params)
