"""python -m bench.list_profile [--html FILE]: where list's warm overhead goes (not part of make bench).

The list handler (GET /invitations?limit=20) is called warm, in-process, on a real page of 21
invitations read once from DynamoDB Local, then canned: the client's Query answers that same
response at once, so that only the handler's own CPU time is left (the bare side of the route
benchmark pays the same Query and the same botocore parsing). It prints:
  * the handler's CPU time per request, and that of each stage, timed on its own (thread CPU time);
  * pyinstrument's profile of many requests (--html writes the interactive one).
"""

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from bench import stack
from bench.routes import LIST_LIMIT, LIST_SIZE, READER, TABLE, Runner
from bench.stack import LambdaContext, api_event, quiet_stdout
from local.dynamodb_local import DynamoDBLocal

REQUESTS = 2000


class CannedClient:
    """The service's DynamoDB client, with Query answering a recorded response."""

    def __init__(self, client: Any, response: dict[str, Any]) -> None:
        self._client = client
        self._response = response

    def query(self, **_: Any) -> dict[str, Any]:
        return self._response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _per_call(fn: Callable[[], Any], n: int = REQUESTS) -> float:
    """Median of 5 batches of n calls, in microseconds of this thread's CPU time per call (CPU
    time: the machine's other processes do not inflate it as they do wall time)."""
    batches = []
    for _ in range(5):
        started = time.thread_time()
        for _ in range(n):
            fn()
        batches.append((time.thread_time() - started) / n * 1e6)
    return statistics.median(batches)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.list_profile", description=__doc__)
    parser.add_argument("--html", help="write pyinstrument's HTML profile here")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", "No application metrics to publish")
    from pyinstrument import Profiler

    from invitations import read_model, runtime
    from invitations.adapters.dynamo import items
    from invitations.http import json_response
    from invitations.http.presenters.invitations import invitation_page
    from invitations.use_cases.base import Clinician

    db = DynamoDBLocal().start()
    try:
        bench_stack = stack.Stack(db.endpoint)
        runner = Runner(bench_stack)
        runner.seed_invitations(READER, LIST_SIZE)
        response = bench_stack.client.query(
            TableName=TABLE,
            IndexName="ByClinician",
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"CLIN#{READER}"}},
            ScanIndexForward=False,
            Limit=LIST_LIMIT + 1,
            ReturnConsumedCapacity="TOTAL",
        )
    finally:
        db.stop()
    table = runtime.table()
    table.client = CannedClient(table.client, response)
    services = runtime.services()
    event = api_event("list_invites", "GET", "/invitations", clinician=READER, query={"limit": str(LIST_LIMIT)})
    handler = stack.handler("list_invites")
    clinician = Clinician(READER, stack.CLINICIAN_NAME)
    page = read_model.list_page(services, clinician, None, None, LIST_LIMIT, None)
    model = invitation_page(page, services.links)
    payload = model.model_dump(mode="json")

    with quiet_stdout():
        answer = handler(event, LambdaContext())
        assert answer["statusCode"] == 200 and len(json.loads(answer["body"])["items"]) == LIST_LIMIT
        stages = {
            "whole handler (Powertools, logger, metrics included)": lambda: handler(event, LambdaContext()),
            "  read_model.list_page (decode 21 items, sign the cursor)": lambda: read_model.list_page(
                services, clinician, None, None, LIST_LIMIT, None
            ),
            "    of which decoding the 21 items (items.invitation_from)": lambda: [
                items.invitation_from(raw) for raw in response["Items"]
            ],
            "  presenters.invitation_page (20 InvitationOut: iso, HMAC link, pydantic)": lambda: invitation_page(
                page, services.links
            ),
            "    of which the 20 links (HMAC-SHA256 each)": lambda: [
                services.links.url(inv.id, inv.link_version) for inv in page.items
            ],
            "  json_response: model_dump(mode='json')": lambda: model.model_dump(mode="json"),
            "  json_response: json.dumps": lambda: json.dumps(payload),
            "  json_response: model_dump_json (instead of both)": lambda: model.model_dump_json(),
            "  the whole json_response": lambda: json_response(200, model),
        }
        timings = {name: _per_call(fn, 500) for name, fn in stages.items()}
        profiler = Profiler(interval=0.0001)
        profiler.start()
        for _ in range(REQUESTS):
            handler(event, LambdaContext())
        profiler.stop()
    for name, us in timings.items():
        print(f"{us:8.0f} us  {name}")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
