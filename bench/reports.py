"""Capacity per delivery report and per reminder: the two functions that change an invitation with
no request behind it.

As bench/routes.py does for the routes (its Runner, on a table of this section's own), each is run
two ways on the same DynamoDB Local: through its function's real handler, and as the bare calls
that report or reminder needs, written down here. The handler gets real-shaped events: SES's
events as EventBridge delivers them and SNS's SMS delivery-status records as a CloudWatch Logs
subscription delivers them (built by local/simulators.py, for the subscriptions the template
declares), and the sample scheduled event."""

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from bench import stack
from bench.report import Row, say
from bench.routes import Call, Case, Route, Runner, capacity_row, consistent_get, put_request, writes_of_event
from bench.stack import EVENTS_DIR, Stack, invitation_item, invitation_key, new_invitation, quota_item, quota_key
from local import simulators

TABLE = "invitations-bench-reports"
# The bare reminder's own table: the handler's sweep reads every reminder due in its table.
BARE_TABLE = TABLE + "-bare"
HANDLER_SIDE, BARE_SIDE = "clinician-bench-report-h", "clinician-bench-report-b"  # as long
FUNCTION = "DeliveryReportsFunction"
PHONE = "+33612345678"


@dataclass(frozen=True)
class Kind:
    """A provider's report on an invitation's current message (it was `sent`)."""

    name: str
    via: str  # how it reaches the function, and what it is
    status: str  # what the report makes of the message
    ses: str | None = None  # SES's eventType; None: SNS's SMS delivery-status record
    fallback: bool = False  # a permanent bounce, a phone known: the same link goes again by SMS

    @property
    def channel(self) -> str:
        return "email" if self.ses else "sms"

    @property
    def minimum(self) -> str:
        queued, notes = (" (the fallback SMS)", " x2 (the report, the fallback)") if self.fallback else ("", "")
        return (
            f"GetItem(message id), GetItem(invitation), TransactWriteItems(report id, new + invitation "
            f"{self.status} + outbox{queued} + history{notes})"
        )


KINDS = (
    Kind("SES Delivery", "EventBridge: aws.ses Email Delivered", "delivered", ses="Delivery"),
    Kind("SES Bounce", "EventBridge: aws.ses Email Bounced, Permanent", "bounced", ses="Bounce", fallback=True),
    Kind("SNS SMS", "CloudWatch Logs: DirectPublishToPhoneNumber/Failure", "failed"),
)


class Reports:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.t = runner.table
        subscribed = simulators.subscriptions(stack.TEMPLATE, stack.template_refs(self.t), {FUNCTION})
        self.ses_rules, self.logs = subscribed.rules, subscribed.logs

    # -- the providers' events, shaped by local/simulators.py -------------------------------------

    def ses(self, event_type: str, inv: Any, at: datetime) -> dict[str, Any]:
        mail = simulators.SentEmail(
            message_id=inv.delivery.message_id,
            source=os.environ["SENDER_EMAIL"],
            to=[inv.email],
            subject="Invitation",
            configuration_set=os.environ["SES_CONFIGURATION_SET"],
            tags={"invitation_id": inv.id, "link_version": str(inv.link_version)},  # the dispatcher's
            at=inv.delivery.at,
        )
        event = simulators.ses_event(event_type, mail, at)
        if not any(simulators.rule_matches(rule.pattern, event) for rule in self.ses_rules):
            raise RuntimeError(f"no rule of {FUNCTION} takes SES's {event_type} event")
        return event

    def event(self, kind: Kind, inv: Any, at: datetime) -> dict[str, Any]:
        return self.ses(kind.ses, inv, at) if kind.ses else self.sms_failed(inv, at)

    def sms_failed(self, inv: Any, at: datetime) -> dict[str, Any]:
        group = simulators.SMS_LOG_GROUP.format(region=stack.REGION, account=stack.ACCOUNT_ID) + "/Failure"
        subscription = next((s for s in self.logs if s.log_group == group), None)
        if subscription is None:
            raise RuntimeError(f"{FUNCTION} has no subscription to {group}")
        record = simulators.sms_log_record(inv.delivery.message_id, inv.phone, "Transactional", inv.delivery.at, True)
        return simulators.subscription_event(group, subscription.filter_name, record, at)

    # -- data ---------------------------------------------------------------------------------------

    def sent(self, kind: Kind, clinician: str, i: int) -> Any:
        """An invitation whose current message the dispatcher handed over by `kind.channel`, and
        the message id item the dispatcher wrote with it (seeded as the service stores them)."""
        from invitations.adapters.dynamo import items
        from invitations.domain.delivery import SentMessage
        from invitations.domain.invitation import DeliveryOutcome

        at = stack.now()
        email = f"helene.{i:05d}.{clinician[-1]}@example.org" if kind.channel == "email" else None
        phone = PHONE if kind.fallback or kind.channel == "sms" else None
        inv = new_invitation(clinician, "Hélène", "Dupont-Durand", at, email=email, phone=phone)
        # SES's message ids (SNS's are UUIDs), as long on both sides.
        message_id = stack.message_id() if kind.channel == "email" else str(uuid.uuid4())
        inv = replace(inv, delivery=DeliveryOutcome("sent", at, None, kind.channel, message_id))
        sent = SentMessage(message_id, inv.id, inv.link_version, kind.channel)
        stack.seed(self.runner.client, self.t, [invitation_item(inv), items.message_item(sent, at)])
        return inv

    # -- the reports and their minimum calls --------------------------------------------------------

    def report_cases(self, kind: Kind) -> Callable[[int], list[tuple[Case, Case]]]:
        def cases(n: int) -> list[tuple[Case, Case]]:
            from invitations.adapters.dynamo import items
            from invitations.adapters.provider_reports import reports_of
            from invitations.domain import delivery, events, history

            put, event_writes = partial(put_request, self.t), partial(writes_of_event, self.t)
            pairs = []
            for i in range(n):
                mine, theirs = self.sent(kind, HANDLER_SIDE, i), self.sent(kind, BARE_SIDE, i)
                at = stack.now()
                event, (told,) = self.event(kind, mine, at), reports_of(self.event(kind, theirs, at))
                applied = delivery.apply(theirs, told)
                assert applied is not None and delivery.fallback_due(theirs, told, at) == kind.fallback
                if kind.fallback:
                    applied = replace(applied, fallback_link=theirs.link_version)
                stored = replace(applied, rev=theirs.rev + 1)
                reported = events.delivery_reported(
                    stored, told.status, kind.channel, theirs.link_version, told.at, kind.fallback
                )
                writes = [
                    {"Put": put(items.report_item(theirs.id, told.report_id, at), "attribute_not_exists(pk)")},
                    {"Put": put(invitation_item(stored), "rev = :rev", theirs.rev)},
                    *event_writes(reported),
                ]
                if kind.fallback:  # the fallback's own history line
                    note = history.report(stored.id, "fallback_sms", told.at, "sms", f"{told.report_id}-fb", None)
                    writes.append({"Put": {"TableName": self.t, "Item": items.history_item(note)}})
                calls: list[Call] = [
                    consistent_get(self.t, items.message_key(told.message_id)),
                    consistent_get(self.t, invitation_key(theirs.id)),
                    ("transact_write_items", {"TransactItems": writes}),
                ]
                pairs.append((Case(event, []), Case({}, calls)))
            return pairs

        return cases

    def reminder_cases(self, n: int) -> list[tuple[Case, Case]]:
        """One invitation due on each side, each in its own table (the handler's sweep would take
        the bare side's too); each clinician has sent today already (a counter to read and write)."""
        from invitations.adapters.dynamo.items import DUE_SHARDS
        from invitations.clock import iso
        from invitations.domain import events, quotas
        from invitations.domain.invitation import remind

        assert n == 1, "the handler reminds every invitation due: one case only"
        now, rules = stack.now(), self.runner.services.rules
        per_clinician = quotas.per_clinician(rules)
        sides = {}
        for table, clinician in ((self.t, HANDLER_SIDE), (BARE_TABLE, BARE_SIDE)):
            counter = stack.day_counter(clinician, rules, now)
            due = stack.reminder_due(clinician, "Hélène", "Dupont-Durand", now)
            stack.seed(self.runner.client, table, [invitation_item(due), quota_item(counter)])
            sides[table] = due, counter
        theirs, counter = sides[BARE_TABLE]
        reminded = remind(theirs, now, rules)
        assert reminded is not None, "not due: see stack.reminder_due"
        reminded = replace(reminded, rev=theirs.rev + 1)
        counted = replace(quotas.count(counter, per_clinician, now), rev=counter.rev + 1)
        put = partial(put_request, BARE_TABLE)
        writes = [
            {"Put": put(invitation_item(reminded), "rev = :rev", theirs.rev)},
            {"Put": put(quota_item(counted), "rev = :rev", counter.rev)},
            *writes_of_event(BARE_TABLE, events.invitation_reminded(reminded, now)),
        ]
        # Every shard of the sparse index, the empty ones too: the sweep cannot know which are empty.
        calls: list[Call] = [
            (
                "query",
                {
                    "TableName": BARE_TABLE,
                    "IndexName": "Remind",
                    "KeyConditionExpression": "remind_pk = :pk AND remind_sk < :bound",
                    "ExpressionAttributeValues": {":pk": {"S": f"REMIND#{shard}"}, ":bound": {"S": iso(now) + "$"}},
                },
            )
            for shard in range(DUE_SHARDS)
        ]
        calls += [
            consistent_get(BARE_TABLE, quota_key(counter.key)),
            ("transact_write_items", {"TransactItems": writes}),
        ]
        event = json.loads((EVENTS_DIR / "remind_invites.json").read_text())
        return [(Case(event, []), Case({}, calls))]

    def routes(self) -> list[Route]:
        routes = [
            Route(
                f"delivery report, {k.name}",
                "delivery_reports",
                k.via + ",",
                f"sent -> {k.status}" + (", the fallback SMS queued" if k.fallback else ""),
                None,
                k.minimum,
                self.report_cases(k),
                answer={"reports": 1, "recorded": 1},
            )
            for k in KINDS
        ]
        routes.append(
            Route(
                "reminder, per reminder",
                "remind_invites",
                "schedule:",
                "one invitation due (sample scheduled event)",
                None,
                "Query(Remind) x4 (one per shard), GetItem(clinician's day counter), TransactWriteItems(invitation "
                "reminded + counter + outbox + history)",
                self.reminder_cases,
                answer={"reminded": 1},
            )
        )
        return routes


def run(bench_stack: Stack) -> list[Row]:
    runner = Runner(bench_stack, TABLE)
    stack.create_table(runner.client, BARE_TABLE)
    rows = []
    for route in Reports(runner).routes():
        say(f"  {route.name}: 1 run each side")
        handled, bare = runner.run(route, 1, 0)
        rows.append(capacity_row(route, handled, bare))
    return rows
