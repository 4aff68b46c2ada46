"""A stand-in for the AWS services the functions call besides DynamoDB, on 127.0.0.1: Secrets
Manager (the link secret), SES (email), SNS (SMS) and EventBridge (events). It answers each call
at once with what the real service answers on success, and counts the calls, so that a cold-start
child can answer its first real request with nothing leaving the machine."""

import json
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

_SES = (
    '<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><SendEmailResult>'
    "<MessageId>{id}</MessageId></SendEmailResult><ResponseMetadata><RequestId>{id}</RequestId>"
    "</ResponseMetadata></SendEmailResponse>"
)
_SNS = (
    '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
    "<MessageId>{id}</MessageId></PublishResult><ResponseMetadata><RequestId>{id}</RequestId>"
    "</ResponseMetadata></PublishResponse>"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "AwsStub._Server"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target") or ""
        request_id = str(uuid.uuid4())
        if target == "secretsmanager.GetSecretValue":
            secret_id = json.loads(body or b"{}").get("SecretId", "bench")
            answer = {"ARN": f"arn:aws:secretsmanager:eu-west-3:123456789012:secret:{secret_id}", "Name": secret_id}
            self._answer("secretsmanager", "application/x-amz-json-1.1", {**answer, "SecretString": self.server.secret})
        elif target == "AWSEvents.PutEvents":
            entries = json.loads(body or b"{}").get("Entries", [])
            answer = {"FailedEntryCount": 0, "Entries": [{"EventId": str(uuid.uuid4())} for _ in entries]}
            self._answer("events", "application/x-amz-json-1.1", answer)
        else:
            action = (parse_qs(body.decode()).get("Action") or [""])[0]
            if action == "SendEmail":
                self._answer("ses", "text/xml", _SES.format(id=request_id))
            elif action == "Publish":
                self._answer("sns", "text/xml", _SNS.format(id=request_id))
            else:
                self._answer(f"unknown:{target or action}", "application/json", {"message": "not stubbed"}, 400)

    def _answer(self, service: str, content_type: str, body: object, status: int = 200) -> None:
        self.server.calls[service] += 1
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class AwsStub:
    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        calls: Counter[str]
        secret: str

    def __init__(self, secret: str) -> None:
        self._server = self._Server(("127.0.0.1", 0), _Handler)
        self._server.calls = Counter()
        self._server.secret = secret
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-stub", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def calls(self) -> Counter[str]:
        return self._server.calls

    def __enter__(self) -> "AwsStub":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
