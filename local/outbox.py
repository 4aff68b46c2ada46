"""The outbox: every email (SES), SMS (SNS) and event (EventBridge) the functions sent, oldest
first. Emails and SMS are read from moto's request recording (the exact SendEmail and Publish
calls, text and HTML bodies both); events are drained from a queue that a rule on the bus feeds.
Each message's delivery state is what the provider simulators (local/simulators.py) reported on
it, read from `DELIVERY_FILE` (the provider's message id, the reports, their outcome: never an
address or a text; a message is found by a hash of its channel, recipient and text).
Everything is kept in the data folder, so the outbox survives a restart."""

import base64
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

EVENTS_FILE = "outbox-events.jsonl"
DELIVERY_FILE = "outbox-delivery.jsonl"  # written by local/simulators.py


def message_key(channel: str, to: str, text: str) -> str:
    """How the simulators name a message they saw sent, and the outbox finds it again."""
    return hashlib.sha256(f"{channel}\n{to}\n{text}".encode()).hexdigest()[:32]


def _iso_from_amz_date(value: str) -> str:
    # 20260105T090000Z -> 2026-01-05T09:00:00Z
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", value or "")
    return "{}-{}-{}T{}:{}:{}Z".format(*match.groups()) if match else ""


def _header(headers: dict[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name), "")


def _form(entry: dict[str, Any]) -> dict[str, str]:
    body = entry.get("body") or ""
    raw = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    if "json" in _header(entry.get("headers") or {}, "content-type"):
        return {}  # SES and SNS speak the query protocol (form bodies); JSON ones are other services
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


_TO_MEMBER = "Destination.ToAddresses.member."


def _member_number(key: str) -> int:
    suffix = key.rsplit(".", 1)[-1]
    return int(suffix) if suffix.isdigit() else 0


def _entries(text: str) -> Iterator[dict[str, Any]]:
    """The recorder's JSON lines. It writes an entry and its newline separately, so two requests
    recorded at once may share a line: decode every object found, not one per line."""
    decoder = json.JSONDecoder()
    for line in text.splitlines():
        position = 0
        while position < len(line):
            if line[position].isspace():
                position += 1
                continue
            try:
                entry, position = decoder.raw_decode(line, position)
            except ValueError:
                break  # not ours to repair: skip the rest of the line
            if isinstance(entry, dict):
                yield entry


@dataclass
class Outbox:
    data_dir: Path
    recording: Path
    sqs: Any
    queue_url: str
    base_url: str
    _emails: list[dict[str, Any]] = field(default_factory=list)
    _sms: list[dict[str, Any]] = field(default_factory=list)
    _read_up_to: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def _events_file(self) -> Path:
        return self.data_dir / EVENTS_FILE

    def _link(self, *texts: str) -> str | None:
        pattern = re.escape(self.base_url.rstrip("/")) + r"/i/[A-Za-z0-9_-]+"
        for text in texts:
            found = re.search(pattern, text or "")
            if found:
                return found.group(0)
        return None

    def _read_recording(self) -> None:
        """Parse only what the recorder appended since the last look."""
        if not self.recording.exists():
            return
        with self.recording.open("rb") as file:
            file.seek(self._read_up_to)
            chunk = file.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written is read next time
        self._read_up_to += len(complete)
        for entry in _entries(complete.decode("utf-8", errors="replace")):
            form = _form(entry)
            at = _iso_from_amz_date(_header(entry.get("headers") or {}, "x-amz-date"))
            if form.get("Action") == "SendEmail":
                text, html = form.get("Message.Body.Text.Data", ""), form.get("Message.Body.Html.Data", "")
                recipients = [form[k] for k in sorted(form, key=_member_number) if k.startswith(_TO_MEMBER)]
                self._emails.append(
                    {
                        "to": ", ".join(recipients),
                        "subject": form.get("Message.Subject.Data", ""),
                        "text": text,
                        "html": html,
                        "link": self._link(text, html),
                        "at": at,
                    }
                )
            elif form.get("Action") == "Publish" and form.get("PhoneNumber"):
                message = form.get("Message", "")
                self._sms.append({"to": form["PhoneNumber"], "text": message, "link": self._link(message), "at": at})

    def _drain_events(self) -> None:
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return
            with self._events_file.open("a") as file:
                for message in batch:
                    event = json.loads(message["Body"])
                    record = {
                        "detail_type": event.get("detail-type"),
                        "detail": event.get("detail"),
                        "at": event.get("time"),
                    }
                    file.write(json.dumps(record) + "\n")
            for message in batch:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _events(self) -> list[dict[str, Any]]:
        if not self._events_file.exists():
            return []
        return [json.loads(line) for line in self._events_file.read_text().splitlines() if line.strip()]

    def _deliveries(self) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
        """(message key -> the provider's ids, in sending order; id -> its delivery state)."""
        path = self.data_dir / DELIVERY_FILE
        ids: dict[str, list[str]] = {}
        states: dict[str, dict[str, Any]] = {}
        if not path.exists():
            return ids, states
        for entry in _entries(path.read_text(encoding="utf-8", errors="replace")):
            message_id = str(entry.get("message_id") or "")
            if not message_id:
                continue
            if entry.get("key"):
                ids.setdefault(str(entry["key"]), []).append(message_id)
                states[message_id] = {
                    "message_id": message_id,
                    "status": entry.get("status"),
                    "detail": entry.get("detail"),
                    "reports": [],
                }
            elif message_id in states:
                state = states[message_id]
                state["reports"].append(
                    {k: entry.get(k) for k in ("report", "status", "detail", "at", "recorded") if k in entry}
                )
                state["status"], state["detail"] = entry.get("status"), entry.get("detail")
        return ids, states

    @staticmethod
    def _with_delivery(
        channel: str, messages: list[dict[str, Any]], ids: dict[str, list[str]], states: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        taken: dict[str, int] = {}
        shown = []
        for message in messages:
            key = message_key(channel, message["to"], message["text"])
            found = ids.get(key, [])
            n = taken.get(key, 0)
            taken[key] = n + 1
            shown.append({**message, "delivery": states.get(found[n]) if n < len(found) else None})
        return shown

    def collect(self) -> None:
        """Move the bus's events from moto's queue (in memory) to the file (kept across restarts)."""
        with self._lock:
            self._drain_events()

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            self._read_recording()
            self._drain_events()
            ids, states = self._deliveries()
            return {
                "emails": self._with_delivery("email", self._emails, ids, states),
                "sms": self._with_delivery("sms", self._sms, ids, states),
                "events": self._events(),
            }


def _link_html(link: str | None) -> str:
    return f'<a href="{escape(link, quote=True)}">{escape(link)}</a>' if link else "<em>no link</em>"


def _delivery_html(message: dict[str, Any]) -> str:
    """The provider's last word on the message (the simulators'), as a badge."""
    delivery = message.get("delivery")
    if not delivery:
        return ""
    status = str(delivery.get("status") or "")
    detail = f" ({delivery['detail']})" if delivery.get("detail") else ""
    steps = " → ".join(str(r.get("status")) for r in delivery.get("reports") or [])
    title = f' title="{escape("sent → " + steps, quote=True)}"' if steps else ""
    return f' · <strong class="delivery {escape(status, quote=True)}"{title}>{escape(status + detail)}</strong>'


def render_html(snapshot: dict[str, list[dict[str, Any]]]) -> str:
    """The outbox for a browser: newest first here (the JSON is oldest first), links clickable."""
    emails = "".join(
        f"<article><h3>{escape(m['subject'])}</h3>"
        f"<p class=meta>to {escape(m['to'])} · {escape(m['at'])}{_delivery_html(m)}</p>"
        f"<p>{_link_html(m['link'])}</p><details><summary>text</summary><pre>{escape(m['text'])}</pre></details>"
        f'<details><summary>HTML</summary><iframe sandbox srcdoc="{escape(m["html"], quote=True)}"></iframe>'
        "</details></article>"
        for m in reversed(snapshot["emails"])
    )
    sms = "".join(
        f"<article><p class=meta>to {escape(m['to'])} · {escape(m['at'])}{_delivery_html(m)}</p>"
        f"<pre>{escape(m['text'])}</pre>"
        f"<p>{_link_html(m['link'])}</p></article>"
        for m in reversed(snapshot["sms"])
    )
    events = "".join(
        f"<tr><td>{escape(e['at'] or '')}</td><td>{escape(e['detail_type'] or '')}</td>"
        f"<td><code>{escape(json.dumps(e['detail'], ensure_ascii=False))}</code></td></tr>"
        for e in reversed(snapshot["events"])
    )
    style = (
        "body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:60rem;padding:0 1rem;color:#1d2733}"
        "article{border:1px solid #ccd;border-radius:.4rem;padding:.5rem 1rem;margin:.5rem 0}"
        ".meta{color:#556;font-size:.9rem}pre{white-space:pre-wrap}iframe{width:100%;height:20rem;border:0}"
        "a,code,pre{overflow-wrap:anywhere}.delivery.delivered{color:#1d6b32}"
        ".delivery.bounced,.delivery.complained,.delivery.failed{color:#a11}"
        "table{border-collapse:collapse;font-size:.9rem}td{border-top:1px solid #ccd;padding:.3rem;vertical-align:top}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Local outbox</title><style>{style}</style></head><body>"
        "<h1>Local outbox</h1><p>Newest first. The same as JSON: <code>curl /_local/outbox</code>.</p>"
        f"<h2>Emails ({len(snapshot['emails'])})</h2>{emails or '<p>None yet.</p>'}"
        f"<h2>SMS ({len(snapshot['sms'])})</h2>{sms or '<p>None yet.</p>'}"
        f"<h2>Events ({len(snapshot['events'])})</h2>"
        f"<table>{events or '<tr><td>None yet.</td></tr>'}</table></body></html>"
    )
