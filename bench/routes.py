"""Warm overhead and capacity per route.

Each route is run two ways on the same DynamoDB Local, interleaved: through its function's real
handler (a real-shaped API Gateway event in, the JSON answer out), and as the bare boto3 calls that
route must make for the same data, on the very client the service uses. The bare calls are written
down here, route by route: they are the minimum access pattern that docs/performance.md derives,
so their ReturnConsumedCapacity total is the minimum capacity of the route."""

import copy
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from typing import Any

from bench import stack
from bench.report import Row, check, median, ratio_interval, say
from bench.stack import (
    Stack,
    api_event,
    invitation_item,
    invitation_key,
    name_items,
    new_invitation,
    patient_item,
    patient_key,
    quiet_stdout,
    quota_item,
    quota_key,
)

WARM_RUNS = 200
WARMUP = 20
WARM_TARGET = 1.25
CAPACITY_TARGET = 1.0
TABLE = "invitations-bench-routes"
READER = "clinician-bench-reader"
WRITER = "clinician-bench-writer"
LIST_SIZE = 100  # invitations of the clinician whose list is read
LIST_LIMIT = 20  # the page size of events/list_invites.json
SENDS_PER_CLINICIAN = 150  # under MaxSendsPerDay (200 a day per clinician)
BARE_WRITER = "clinician-bench-bwrite"  # the bare side's own clinician (its own send counter), as long

Call = tuple[str, dict[str, Any]]


@dataclass
class Case:
    """One request: the handler's event and, for the same data, the bare calls."""

    event: dict[str, Any]
    calls: list[Call]


@dataclass
class Route:
    name: str
    function: str
    method: str
    route: str
    status: int | None  # None: a stream batch, every record processed (no batchItemFailures)
    minimum: str  # the access pattern, in words (also in docs/performance.md)
    cases: Callable[[int], list[tuple[Case, Case]]]  # n (handler case, bare case) pairs
    warm: bool = False
    answer: dict[str, Any] | None = None  # what a function that is neither HTTP nor a stream must answer


@dataclass
class Measured:
    seconds: list[float] = field(default_factory=list)
    capacity: set[float] = field(default_factory=set)  # as DynamoDB bills it (bench/pricing.py)
    reported: set[float] = field(default_factory=set)  # as DynamoDB Local reports it
    items_read: set[int] = field(default_factory=set)
    refused: int = 0  # writes refused by their condition

    def add(self, bill: Any, seconds: float) -> None:
        self.seconds.append(seconds)
        if bill.priced:
            self.capacity.add(round(bill.units, 3))
        self.reported.add(round(bill.reported.capacity_units, 3))
        self.items_read.add(bill.reported.items_read)
        self.refused += bill.refused


_STREAM_SAMPLE = json.loads((stack.EVENTS_DIR / "dispatch.json").read_text())["Records"][0]


def consistent_get(table: str, key: dict[str, Any]) -> Call:
    return "get_item", {"TableName": table, "Key": key, "ConsistentRead": True}


def put_request(table: str, item: dict[str, Any], condition: str, rev: int | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"TableName": table, "Item": item, "ConditionExpression": condition}
    if rev is not None:
        request["ExpressionAttributeValues"] = {":rev": {"N": str(rev)}}
    return request


def writes_of_event(table: str, event: Any) -> list[dict[str, Any]]:
    """Every event a change raises: its outbox entry (new) and its history entry."""
    entry, note = stack.event_items(event)
    return [{"Put": put_request(table, entry, "attribute_not_exists(pk)")}, {"Put": {"TableName": table, "Item": note}}]


def stream_event(item: dict[str, Any]) -> dict[str, Any]:
    """The stream's record of a new outbox item, shaped as events/dispatch.json (NEW_IMAGE)."""
    record = copy.deepcopy(_STREAM_SAMPLE)
    record["eventID"] = uuid.uuid4().hex
    record["dynamodb"].update(
        Keys={"pk": item["pk"], "sk": item["sk"]},
        NewImage=item,
        SequenceNumber=str(uuid.uuid4().int)[:28],
        SizeBytes=len(json.dumps(item)),
    )
    return {"Records": [record]}


def _accepted(inv: Any) -> tuple[Any, Any]:
    """The invitation accepted and the patient record its acceptance creates."""
    from invitations.domain.invitation import accept
    from invitations.domain.patient import from_invitation

    patient = from_invitation(inv, stack.now())
    return accept(inv, patient.id, stack.now()), patient


class Runner:
    def __init__(self, bench_stack: Stack, table: str = TABLE) -> None:
        self.stack = bench_stack
        self.table = table
        self.services = bench_stack.use_table(table)
        self.client = bench_stack.client
        self.signer = stack.signer()

    # -- the two sides ---------------------------------------------------------------------------

    def handler(self, route: Route, case: Case, out: Measured, priced: bool) -> None:
        context = stack.LambdaContext()
        entry = stack.handler(route.function)
        with self.stack.meter.measure(priced) as bill:
            started = time.perf_counter()
            answer = entry(case.event, context)
            seconds = time.perf_counter() - started
        if route.answer is not None:
            if answer != route.answer:
                raise RuntimeError(f"{route.name}: answered {answer}, not {route.answer}")
        elif route.status is None:
            if answer.get("batchItemFailures"):
                raise RuntimeError(f"{route.name}: records failed {answer['batchItemFailures']}")
        elif answer["statusCode"] != route.status:
            raise RuntimeError(f"{route.name}: {answer['statusCode']} {answer.get('body', '')[:300]}")
        out.add(bill, seconds)

    def bare(self, case: Case, out: Measured, priced: bool) -> None:
        client = self.client
        with self.stack.meter.measure(priced) as bill:
            started = time.perf_counter()
            for op, kwargs in case.calls:
                getattr(client, op)(**kwargs, ReturnConsumedCapacity="TOTAL")
            seconds = time.perf_counter() - started
        out.add(bill, seconds)

    def run(self, route: Route, runs: int, warmup: int) -> tuple[Measured, Measured]:
        pairs = route.cases(runs + warmup)
        handled, bare = Measured(), Measured()
        with quiet_stdout():
            for i, (for_handler, for_bare) in enumerate(pairs):
                # Pricing reads every item a write touches, before and after it: only where no
                # time is kept (the warm-up pairs, or a route's one run), so the timings never pay it.
                priced = i < warmup or not warmup
                # Alternate which side goes first, so that neither always follows the other.
                if i % 2 == 0:
                    self.handler(route, for_handler, handled, priced)
                    self.bare(for_bare, bare, priced)
                else:
                    self.bare(for_bare, bare, priced)
                    self.handler(route, for_handler, handled, priced)
                if i + 1 == warmup:
                    handled.seconds.clear()
                    bare.seconds.clear()
        return handled, bare

    # -- data --------------------------------------------------------------------------------------

    def seed_invitations(self, clinician: str, n: int, *, names: bool = True) -> list[Any]:
        start = stack.now() - timedelta(hours=1)
        first_names = ["Hélène", "Jean", "Marie", "Louis", "Camille", "Hugo", "Léa", "Paul"]
        last_names = ["Dupont-Durand", "Martin", "Bernard", "Petit", "Moreau", "Lefèvre", "Garcia", "Roux"]
        invitations = [
            new_invitation(clinician, first_names[i % 8], last_names[(i // 8) % 8], start + timedelta(seconds=i))
            for i in range(n)
        ]
        items = [invitation_item(inv) for inv in invitations]
        if names:
            items += [item for inv in invitations for item in name_items(inv)]
        stack.seed(self.client, self.table, items)
        return invitations

    def accepted_patients(self, clinician: str, n: int) -> list[Any]:
        invitations = self.seed_invitations(clinician, n)
        items: list[dict[str, Any]] = []
        patients = []
        for inv in invitations:
            accepted, patient = _accepted(inv)
            items += [invitation_item(replace(accepted, rev=inv.rev + 1)), patient_item(patient)]
            patients.append(patient)
        stack.seed(self.client, self.table, items)
        return patients

    def sent_entries(self, n: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """n invitations sent through the send handler (email): each one's outbox item and
        invitation item as stored (read here, outside any measurement)."""
        found = []
        for i in range(n):
            clinician = f"clinician-bench-d{i // SENDS_PER_CLINICIAN:03d}"
            body = {"first_name": "Hélène", "last_name": "Dupont-Durand", "email": f"helene.{i:05d}.d@example.org"}
            answer, _ = stack.invoke(
                self.stack,
                "send_invite",
                api_event("send_invite", "POST", "/invitations", clinician=clinician, body=body),
            )
            if answer["statusCode"] != 201:
                raise RuntimeError(f"dispatch: sending answered {answer['statusCode']} {answer.get('body', '')[:300]}")
            invitation_id = json.loads(answer["body"])["id"]
            (entry,) = self.client.query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :out)",
                ExpressionAttributeValues={":pk": {"S": f"INV#{invitation_id}"}, ":out": {"S": "OUT#"}},
                ConsistentRead=True,
            )["Items"]
            invitation = self.client.get_item(
                TableName=self.table, Key=invitation_key(invitation_id), ConsistentRead=True
            )
            found.append((entry, invitation["Item"]))
        return found

    def token(self, inv: Any) -> str:
        return str(self.signer.link_token(inv.id, inv.link_version))

    # -- the routes and their minimum calls --------------------------------------------------------

    def routes(self) -> list[Route]:
        readable = self.seed_invitations(READER, LIST_SIZE)
        one = readable[LIST_SIZE // 2]
        t = self.table
        put, event_writes = partial(put_request, t), partial(writes_of_event, t)

        def get_item(inv_id: str) -> Call:
            return consistent_get(t, invitation_key(inv_id))

        def get_quota(key: str) -> Call:
            return consistent_get(t, quota_key(key))

        def send_cases(n: int) -> list[tuple[Case, Case]]:
            from invitations.domain import events, quotas
            from invitations.domain.events import Actor
            from invitations.domain.invitation import Contact, create
            from invitations.domain.rules import recipient_of

            pseudonyms, rules_, at = stack.pseudonyms(), self.services.rules, stack.now()
            per_clinician, per_recipient = quotas.per_clinician(rules_), quotas.per_recipient()
            # A clinician's daily sends are limited (MaxSendsPerDay): a new pair of clinicians every
            # SENDS_PER_CLINICIAN sends, each side its own, with its daily count already started (so
            # that every send reads one existing counter and one new one), and a new recipient each.
            clinicians = [
                (f"clinician-bench-s{k:03d}h", f"clinician-bench-s{k:03d}b")
                for k in range(n // SENDS_PER_CLINICIAN + 1)
            ]
            counters = {who: stack.day_counter(who, rules_, at) for pair in clinicians for who in pair}
            stack.seed(self.client, t, [quota_item(q) for q in counters.values()])
            pairs = []
            for i in range(n):
                mine, theirs = clinicians[i // SENDS_PER_CLINICIAN]
                body = {"first_name": "Hélène", "last_name": "Dupont-Durand", "email": f"helene.{i:05d}.h@example.org"}
                event = api_event("send_invite", "POST", "/invitations", clinician=mine, body=body)
                contact = Contact("Hélène", "Dupont-Durand", f"helene.{i:05d}.b@example.org", None, "fr")
                created = create(contact, theirs, stack.CLINICIAN_NAME, at, rules_)
                counted = counters[theirs]
                counters[theirs] = replace(quotas.take(counted, per_clinician, at), rev=counted.rev + 1)
                (recipient,) = recipient_of(contact.email, None)
                new_recipient = quotas.Quota(f"recipient#{theirs}#{pseudonyms.of(recipient)}")
                recipient_counted = replace(quotas.take(new_recipient, per_recipient, at), rev=1)
                writes = [
                    {"Put": put(quota_item(counters[theirs]), "rev = :rev", counted.rev)},
                    {"Put": put(quota_item(recipient_counted), "attribute_not_exists(pk)")},
                    {"Put": put(invitation_item(created), "attribute_not_exists(pk)")},
                ]
                writes += [{"Put": {"TableName": t, "Item": item}} for item in name_items(created)]
                writes += event_writes(events.invitation_sent(created, Actor("clinician", theirs), at))
                calls: list[Call] = [
                    get_quota(counted.key),
                    get_quota(recipient_counted.key),
                    ("transact_write_items", {"TransactItems": writes}),
                ]
                pairs.append((Case(event, []), Case({}, calls)))
            return pairs

        def get_cases(n: int) -> list[tuple[Case, Case]]:
            path = {"invitation_id": one.id}
            event = api_event("list_invites", "GET", "/invitations/{invitation_id}", path, clinician=READER)
            return [(Case(event, []), Case({}, [get_item(one.id)]))] * n

        def list_cases(n: int) -> list[tuple[Case, Case]]:
            query = {"limit": str(LIST_LIMIT)}
            event = api_event("list_invites", "GET", "/invitations", clinician=READER, query=query)
            call: Call = (
                "query",
                {
                    "TableName": t,
                    "IndexName": "ByClinician",
                    "KeyConditionExpression": "gsi1pk = :pk",
                    "ExpressionAttributeValues": {":pk": {"S": f"CLIN#{READER}"}},
                    "ScanIndexForward": False,
                    "Limit": LIST_LIMIT + 1,  # one more than the page: is there a next page?
                },
            )
            return [(Case(event, []), Case({}, [call]))] * n

        def accept_cases(n: int) -> list[tuple[Case, Case]]:
            from invitations.domain import events

            mine, theirs = self.seed_invitations(WRITER, n), self.seed_invitations(BARE_WRITER, n)
            pairs = []
            for a, b in zip(mine, theirs, strict=True):
                path = {"token": self.token(a)}
                event = api_event("accept_invite", "POST", "/i/{token}/accept", path)
                accepted, patient = _accepted(b)
                accepted = replace(accepted, rev=b.rev + 1)
                writes = [
                    {"Put": put(invitation_item(accepted), "rev = :rev", b.rev)},
                    {"Put": put(patient_item(patient), "attribute_not_exists(pk)")},
                    *event_writes(events.invitation_accepted(accepted, patient, stack.now())),
                ]
                calls = [get_item(b.id), ("transact_write_items", {"TransactItems": writes})]
                pairs.append((Case(event, []), Case({}, calls)))
            return pairs

        def view_cases(n: int) -> list[tuple[Case, Case]]:
            event = api_event("accept_invite", "GET", "/i/{token}", {"token": self.token(one)})
            return [(Case(event, []), Case({}, [get_item(one.id)]))] * n

        def correct_cases(n: int) -> list[tuple[Case, Case]]:
            from invitations.domain import events
            from invitations.domain.events import Actor
            from invitations.domain.invitation import correct

            change = {"last_name": "Dupont-Martin"}
            mine, theirs = self.seed_invitations(WRITER, n), self.seed_invitations(BARE_WRITER, n)
            pairs = []
            for a, b in zip(mine, theirs, strict=True):
                path = {"invitation_id": a.id}
                event = api_event(
                    "manage_invite", "PATCH", "/invitations/{invitation_id}", path, clinician=WRITER, body=change
                )
                after = replace(correct(b, dict(change), stack.now()), rev=b.rev + 1)
                writes: list[dict[str, Any]] = [{"Put": put(invitation_item(after), "rev = :rev", b.rev)}]
                # Only the name words that changed: the others' index entries stay as they are.
                old = {i["sk"]["S"]: i for i in name_items(b)}
                new = {i["sk"]["S"]: i for i in name_items(after)}
                writes += [
                    {"Delete": {"TableName": t, "Key": {"pk": old[k]["pk"], "sk": old[k]["sk"]}}}
                    for k in sorted(old.keys() - new)
                ]
                writes += [{"Put": {"TableName": t, "Item": new[k]}} for k in sorted(new.keys() - old)]
                writes += event_writes(
                    events.invitation_corrected(after, list(change), Actor("clinician", BARE_WRITER), stack.now())
                )
                calls = [get_item(b.id), ("transact_write_items", {"TransactItems": writes})]
                pairs.append((Case(event, []), Case({}, calls)))
            return pairs

        def resend_cases(n: int) -> list[tuple[Case, Case]]:
            from invitations.domain import events, quotas
            from invitations.domain.events import Actor
            from invitations.domain.invitation import resend

            at, per_clinician = stack.now(), quotas.per_clinician(self.services.rules)
            # A resend counts against its clinician's daily sends: each side's counter already started.
            counters = {who: stack.day_counter(who, self.services.rules, at) for who in (WRITER, BARE_WRITER)}
            stack.seed(self.client, t, [quota_item(q) for q in counters.values()])
            mine, theirs = self.seed_invitations(WRITER, n), self.seed_invitations(BARE_WRITER, n)
            pairs = []
            for a, b in zip(mine, theirs, strict=True):
                path = {"invitation_id": a.id}
                event = api_event(
                    "manage_invite", "POST", "/invitations/{invitation_id}/resend", path, clinician=WRITER
                )
                resent = replace(resend(b, at, self.services.rules), rev=b.rev + 1)
                counted = counters[BARE_WRITER]
                counters[BARE_WRITER] = replace(quotas.take(counted, per_clinician, at), rev=counted.rev + 1)
                # The sent time moved: every name entry carries it (it orders search results).
                writes = [{"Put": put(invitation_item(resent), "rev = :rev", b.rev)}]
                writes += [{"Put": {"TableName": t, "Item": item}} for item in name_items(resent)]
                writes += [{"Put": put(quota_item(counters[BARE_WRITER]), "rev = :rev", counted.rev)}]
                writes += event_writes(events.invitation_sent(resent, Actor("clinician", BARE_WRITER), at))
                calls = [
                    get_item(b.id),
                    get_quota(counted.key),
                    ("transact_write_items", {"TransactItems": writes}),
                ]
                pairs.append((Case(event, []), Case({}, calls)))
            return pairs

        def delete_cases(n: int) -> list[tuple[Case, Case]]:
            from invitations.domain import events
            from invitations.domain.events import Actor
            from invitations.domain.invitation import delete

            mine, theirs = self.seed_invitations(WRITER, n), self.seed_invitations(BARE_WRITER, n)
            pairs = []
            for a, b in zip(mine, theirs, strict=True):
                path = {"invitation_id": a.id}
                event = api_event("manage_invite", "DELETE", "/invitations/{invitation_id}", path, clinician=WRITER)
                gone = replace(delete(b, stack.now()), rev=b.rev + 1)
                writes = [{"Put": put(invitation_item(gone), "rev = :rev", b.rev)}]
                writes += [
                    {"Delete": {"TableName": t, "Key": {"pk": item["pk"], "sk": item["sk"]}}} for item in name_items(b)
                ]
                writes += event_writes(events.invitation_deleted(gone, Actor("clinician", BARE_WRITER), stack.now()))
                calls = [get_item(b.id), ("transact_write_items", {"TransactItems": writes})]
                pairs.append((Case(event, []), Case({}, calls)))
            return pairs

        def dispatch_cases(n: int) -> list[tuple[Case, Case]]:
            """Each side dispatches the outbox entry of an invitation the send handler stored: the
            handler through a stream record shaped as the event source hands it over."""
            from invitations.adapters.dynamo import items
            from invitations.domain import history, outbox
            from invitations.domain.delivery import SentMessage
            from invitations.domain.invitation import DeliveryOutcome, record_delivery

            stored = self.sent_entries(2 * n)
            pairs = []
            for (entry_item, _), (entry_raw, inv_raw) in zip(stored[:n], stored[n:], strict=True):
                event = stream_event(entry_item)
                entry, inv = items.outbox_from(entry_raw), items.invitation_from(inv_raw)
                assert entry is not None and entry.message is not None and inv is not None
                at, message = stack.now(), entry.message
                outcome = DeliveryOutcome("sent", at, None, message.channel, stack.message_id())
                assert outcome.message_id is not None
                delivered = replace(record_delivery(inv, message.link_version, outcome) or inv, rev=inv.rev + 1)
                handled = replace(outbox.handled(entry), rev=entry.rev + 1)
                done = replace(outbox.done(handled, at), rev=handled.rev + 1)
                note = history.delivery_outcome(inv.id, "dispatched", at, message.channel, entry.event_id)
                sent = SentMessage(outcome.message_id, inv.id, message.link_version, message.channel)
                writes = [
                    {"Put": put(invitation_item(delivered), "rev = :rev", inv.rev)},
                    {"Put": put(items.outbox_item(handled), "rev = :rev", entry.rev)},
                    {"Put": {"TableName": t, "Item": items.history_item(note)}},
                    {"Put": {"TableName": t, "Item": items.message_item(sent, at)}},
                ]
                key = items.outbox_key(entry.invitation_id, entry.event_id)
                calls: list[Call] = [
                    ("get_item", {"TableName": t, "Key": key, "ConsistentRead": True}),
                    get_item(inv.id),
                    ("transact_write_items", {"TransactItems": writes}),
                    ("put_item", put(items.outbox_item(done), "rev = :rev", handled.rev)),
                ]
                pairs.append((Case(event, []), Case({}, calls)))
            return pairs

        def patient_cases(
            method: str, route: str, body: Any, change: Callable[[Any], Any] | None, raises: Any = None
        ) -> Any:
            """`raises`: the event the change raises (then one transaction: the record and the event's items)."""

            def cases(n: int) -> list[tuple[Case, Case]]:
                mine, theirs = self.accepted_patients(WRITER, n), self.accepted_patients(BARE_WRITER, n)
                pairs = []
                for a, b in zip(mine, theirs, strict=True):
                    path = {"patient_id": a.id}
                    event = api_event("patients", method, route, path, clinician=WRITER, body=body)
                    calls: list[Call] = [
                        ("get_item", {"TableName": t, "Key": patient_key(b.id), "ConsistentRead": True})
                    ]
                    if change is not None:
                        after = replace(change(b), rev=b.rev + 1)
                        stored = put(patient_item(after), "rev = :rev", b.rev)
                        if raises is None:
                            calls.append(("put_item", stored))
                        else:
                            writes = [{"Put": stored}, *event_writes(raises(after))]
                            calls.append(("transact_write_items", {"TransactItems": writes}))
                    pairs.append((Case(event, []), Case({}, calls)))
                return pairs

            return cases

        def corrected_patient(p: Any) -> Any:
            from invitations.domain.patient import correct

            return correct(p, {"last_name": "Dupont-Martin"}, stack.now())

        def left(p: Any) -> Any:
            from invitations.domain.patient import leave_thread

            return leave_thread(p, stack.now())

        def thread_left(p: Any) -> Any:
            from invitations.domain.events import Actor, patient_thread_left

            return patient_thread_left(p, Actor("clinician", BARE_WRITER), stack.now())

        inv_path, pat_path = "/invitations/{invitation_id}", "/patients/{patient_id}"
        return [
            Route(
                "send",
                "send_invite",
                "POST",
                "/invitations",
                201,
                "GetItem x2 (clinician's and recipient's send counters), TransactWriteItems(2 counters + "
                "invitation + 1 entry per name word + outbox + history)",
                send_cases,
                warm=True,
            ),
            Route(
                "get", "list_invites", "GET", inv_path, 200, "GetItem(invitation, strongly consistent)", get_cases, True
            ),
            Route(
                "list",
                "list_invites",
                "GET",
                "/invitations",
                200,
                f"Query(ByClinician, newest first, Limit {LIST_LIMIT}+1)",
                list_cases,
                warm=True,
            ),
            Route(
                "accept",
                "accept_invite",
                "POST",
                "/i/{token}/accept",
                200,
                "GetItem(invitation, consistent), TransactWriteItems(invitation + patient + outbox + history)",
                accept_cases,
                warm=True,
            ),
            Route(
                "view link", "accept_invite", "GET", "/i/{token}", 200, "GetItem(invitation, consistent)", view_cases
            ),
            Route(
                "correct",
                "manage_invite",
                "PATCH",
                inv_path,
                200,
                "GetItem, TransactWriteItems(invitation + changed name words only + outbox + history)",
                correct_cases,
            ),
            Route(
                "resend",
                "manage_invite",
                "POST",
                inv_path + "/resend",
                200,
                "GetItem x2 (invitation, clinician's send counter), TransactWriteItems(invitation + every name "
                "entry: the sent time moved + counter + outbox + history)",
                resend_cases,
            ),
            Route(
                "delete",
                "manage_invite",
                "DELETE",
                inv_path,
                204,
                "GetItem, TransactWriteItems(tombstone + delete every name entry + outbox + history)",
                delete_cases,
            ),
            Route(
                "dispatch, per event",
                "dispatch",
                "stream:",
                "one new outbox entry (InvitationSent, email)",
                None,
                "GetItem(entry), GetItem(invitation), TransactWriteItems(invitation's outcome + entry handled + "
                "history + message id), the email, the event, PutItem(entry done)",
                dispatch_cases,
            ),
            Route(
                "patient get",
                "patients",
                "GET",
                pat_path,
                200,
                "GetItem(patient, consistent)",
                patient_cases("GET", pat_path, None, None),
            ),
            Route(
                "patient correct",
                "patients",
                "PATCH",
                pat_path,
                200,
                "GetItem, PutItem(patient, conditional)",
                patient_cases("PATCH", pat_path, {"last_name": "Dupont-Martin"}, corrected_patient),
            ),
            Route(
                "leave thread",
                "patients",
                "POST",
                pat_path + "/leave",
                200,
                "GetItem, TransactWriteItems(patient, conditional + outbox + history)",
                patient_cases("POST", pat_path + "/leave", None, left, thread_left),
            ),
        ]


def capacity_row(route: Route, handled: Measured, bare: Measured) -> Row:
    """Capacity is exact: every run of a route must have consumed the same, and read as many items
    (priced on the runs `Runner.run` prices; DynamoDB Local's figure and the items read on all)."""
    used, minimum = max(handled.capacity), max(bare.capacity)
    read, least = max(handled.items_read), max(bare.items_read)
    steady = all(len(m.capacity) == len(m.reported) == len(m.items_read) == 1 for m in (handled, bare))
    refused = f"; writes refused {handled.refused} vs {bare.refused}" if handled.refused or bare.refused else ""
    ratio = used / minimum if minimum else float("inf")
    return Row(
        "capacity",
        f"{route.name}  ({route.method} {route.route})",
        f"{ratio:.2f}x",
        f"<= {CAPACITY_TARGET}x",
        check(ratio <= CAPACITY_TARGET and read <= least and steady),
        f"{used:g} vs minimum {minimum:g} units billed (DynamoDB Local reports {max(handled.reported):g} "
        f"vs {max(bare.reported):g}), items read {read} vs {least}{refused}: {route.minimum}"
        + ("" if steady else " (varied!)"),
        {
            "ratio": ratio,
            "billed_units": sorted(handled.capacity),
            "minimum_billed_units": sorted(bare.capacity),
            "reported_units": sorted(handled.reported),
            "minimum_reported_units": sorted(bare.reported),
            "items_read": sorted(handled.items_read),
            "minimum_items_read": sorted(bare.items_read),
            "minimum_calls": route.minimum,
        },
    )


def run(bench_stack: Stack) -> list[Row]:
    runner = Runner(bench_stack)
    warm_rows: list[Row] = []
    capacity_rows: list[Row] = []
    for route in runner.routes():
        runs, warmup = (WARM_RUNS, WARMUP) if route.warm else (1, 0)
        say(f"  {route.name}: {runs} runs" + (f" each side (+{warmup} warm-up)" if warmup else ""))
        delivered = runner.services.messenger.sent
        handled, bare = runner.run(route, runs, warmup)
        if route.function == "dispatch" and runner.services.messenger.sent - delivered != runs + warmup:
            raise RuntimeError(
                f"{route.name}: {runner.services.messenger.sent - delivered} messages for {runs} entries"
            )
        label = f"{route.method} {route.route}"
        if route.warm:
            ratio = median(handled.seconds) / median(bare.seconds)
            low, high = ratio_interval(handled.seconds, bare.seconds)
            warm_rows.append(
                Row(
                    "warm overhead",
                    f"{route.name}  ({label})",
                    f"{ratio:.2f}x",
                    f"<= {WARM_TARGET}x",
                    check(ratio <= WARM_TARGET),
                    f"median handler {median(handled.seconds) * 1e3:.2f} ms vs bare calls "
                    f"{median(bare.seconds) * 1e3:.2f} ms, n={len(handled.seconds)}; 90% interval "
                    f"{low:.2f}-{high:.2f}x",
                    {
                        "ratio": ratio,
                        "interval_90": [low, high],
                        "handler_ms": [round(s * 1e3, 3) for s in handled.seconds],
                        "bare_ms": [round(s * 1e3, 3) for s in bare.seconds],
                    },
                )
            )
        capacity_rows.append(capacity_row(route, handled, bare))
    return warm_rows + capacity_rows
