"""CLI errors and exit codes, metrics exposition, alert delivery, health of a broken store."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import fixture_app
import pytest
from runtime_support import RecordingDispatcher

from jobforge_runtime import App, Settings
from jobforge_runtime.alerts import WebhookSink, alerter_for, webhook_body
from jobforge_runtime.cli import main
from jobforge_runtime.execution import execute
from jobforge_runtime.health import health_document
from jobforge_runtime.ledger.redis import RedisLedger
from jobforge_runtime.ledger.sqlite import SqliteLedger
from jobforge_runtime.metrics import exposition
from jobforge_runtime.records import Alert
from jobforge_runtime.runtime import Runtime

pytestmark = pytest.mark.unit
Build = Callable[..., tuple[Runtime, RecordingDispatcher]]


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = Settings(broker_url=f"sqlite:///{tmp_path / 'cli.db'}")
    return App(settings=settings, catalogue=fixture_app.catalogue, read_env=False)


def run(app: App, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(app, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_names_the_known_job_types_for_an_unknown_one(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(app, capsys, "submit", "test.nope", "{}")
    assert code == 1
    assert err.count("\n") == 1
    assert "job_type='test.nope'" in err and "known: test.batch, test.slow" in err


def test_cli_lists_an_invalid_payload_field_by_field(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(app, capsys, "submit", "test.work", '{"key": "", "sleep_s": "x"}')
    assert code == 1
    assert err.count("\n") == 1
    assert "key=''" in err and "sleep_s='x'" in err


def test_cli_rejects_text_that_is_not_json_as_a_usage_error(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(app, capsys, "submit", "test.work", "{key: 1}")
    assert code == 2
    assert err.count("\n") == 1 and "is not JSON" in err


def test_cli_lists_the_job_types_with_their_payload_schemas(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(app, capsys, "list")
    listed = {item["job_type"]: item for item in json.loads(out)}
    assert code == 0
    assert set(listed) == {"test.work", "test.slow", "test.batch", "test.tick_a", "test.tick_b"}
    assert "key" in listed["test.work"]["payload"]["properties"]


def test_cli_dlq_replay_of_an_unknown_id_fails_with_one_line(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(app, capsys, "dlq", "replay", "nope")
    assert (code, err.count("\n")) == (1, 1)
    assert "dlq list" in err


def test_cli_dlq_purge_needs_confirmation(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(app, capsys, "dlq", "purge")
    assert code == 2 and "--yes" in err


def test_cli_health_exits_1_when_no_worker_is_alive(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(app, capsys, "health")
    assert code == 1
    assert json.loads(out)["status"] == "degraded"


def test_health_is_degraded_when_the_store_does_not_answer(make_runtime: Build) -> None:
    runtime, _ = make_runtime()
    runtime.ledger.beat("w1", now=runtime.clock())
    assert health_document(runtime)["status"] == "ok"
    if isinstance(runtime.ledger, SqliteLedger):
        with sqlite3.connect(runtime.ledger.path) as db:  # the store loses its tables
            db.execute("drop table jobs_jobs")
    else:  # the Redis server is gone
        gone = RedisLedger("redis://127.0.0.1:1/0", prefix="gone")
        object.__setattr__(runtime, "ledger", gone)
    doc = health_document(runtime)
    assert (doc["status"], doc["ledger"]) == ("degraded", "down")


def test_metrics_count_jobs_and_their_durations(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    for n in range(3):
        runtime.enqueue(fixture_app.work, fixture_app.Work(key=f"m{n}"))
    for job_id, job_type, *_ in list(dispatcher.sent):
        execute(runtime, job_id, job_type, worker="w1")
    text = exposition(runtime).decode()
    assert 'jobs_enqueued_total{job_type="test.work"} 3.0' in text
    assert 'jobs_completed_total{job_type="test.work"} 3.0' in text
    assert 'job_duration_seconds_count{job_type="test.work"} 3.0' in text
    assert 'job_duration_seconds_bucket{job_type="test.work",le="+Inf"} 3.0' in text
    assert "queue_depth 0.0" in text


class Hook:
    """A local webhook receiver: keeps each JSON body POSTed to it."""

    def __init__(self) -> None:
        """Serve on a free port."""
        bodies: list[dict[str, object]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_a_dead_job_is_posted_to_the_webhook_in_slack_format(
    make_runtime: Build, hook: Hook
) -> None:
    runtime, dispatcher = make_runtime(alert_webhook_url=hook.url, alert_webhook_format="slack")
    alerter = alerter_for(runtime.settings, runtime.ledger, runtime.logger)
    object.__setattr__(runtime, "alerter", alerter)
    runtime.enqueue(fixture_app.work, fixture_app.Work(key="x", outcome="permanent"))
    job_id, job_type, *_ = dispatcher.sent[0]
    execute(runtime, job_id, job_type, worker="w1")
    assert len(hook.bodies) == 1
    assert set(hook.bodies[0]) == {"text"}
    assert job_id in str(hook.bodies[0]["text"])


def test_pagerduty_alerts_carry_the_routing_key_and_a_dedup_key() -> None:
    alert = Alert(kind="dead_letter", job_id="j1", message="job j1 is dead", at=1.0)
    body = webhook_body(alert, style="pagerduty", routing_key="R123")
    assert body["routing_key"] == "R123"
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "dead_letter:j1"


def test_a_webhook_that_cannot_be_reached_does_not_raise(make_runtime: Build) -> None:
    runtime, _ = make_runtime()
    sink = WebhookSink("http://127.0.0.1:9/unreachable", runtime.logger, timeout_s=1)
    sink.send(Alert(kind="dead_letter", job_id="j", message="m", at=1.0))


class Mailbox:
    """A minimal local SMTP server: accepts each message and keeps its text."""

    def __init__(self) -> None:
        """Listen on a free port."""
        self.messages: list[str] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 test ESMTP\r\n")
            data: list[bytes] = []
            in_data = False
            for line in lines:
                if in_data:
                    if line == b".\r\n":
                        self.messages.append(b"".join(data).decode())
                        in_data = False
                        conn.sendall(b"250 queued\r\n")
                    else:
                        data.append(line)
                    continue
                verb = line[:4].upper()
                if verb == b"DATA":
                    in_data = True
                    conn.sendall(b"354 go on\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")


def test_a_dead_job_is_mailed_through_the_smtp_settings(make_runtime: Build) -> None:
    mailbox = Mailbox()
    runtime, dispatcher = make_runtime(
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_starttls=False,
        alert_email_to=("oncall@example.com",),
    )
    object.__setattr__(
        runtime, "alerter", alerter_for(runtime.settings, runtime.ledger, runtime.logger)
    )
    runtime.enqueue(fixture_app.work, fixture_app.Work(key="mail", outcome="permanent"))
    job_id, job_type, *_ = dispatcher.sent[0]
    execute(runtime, job_id, job_type, worker="w1")
    mailbox.server.close()
    assert len(mailbox.messages) == 1
    assert "To: oncall@example.com" in mailbox.messages[0]
    assert job_id in mailbox.messages[0]


def test_cli_dlq_lists_inspects_replays_and_purges_a_dead_job(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="dlq", outcome="permanent"))
    huey = app.runtime.dispatcher.hueys["default"]  # type: ignore[attr-defined]
    huey.execute(huey.dequeue())
    code, out, _ = run(app, capsys, "dlq", "list")
    assert code == 0 and [d["job_id"] for d in json.loads(out)] == [job_id]
    code, out, _ = run(app, capsys, "dlq", "inspect", job_id)
    assert code == 0 and json.loads(out)["dead_letter"]["error_kind"] == "permanent"
    code, out, _ = run(app, capsys, "dlq", "replay", job_id)
    new_id = json.loads(out)["replayed"][job_id]
    assert code == 0 and app.runtime.status(new_id) is not None
    code, out, _ = run(app, capsys, "dlq", "list")
    assert json.loads(out) == []  # replayed letters leave the list
    code, out, _ = run(app, capsys, "dlq", "purge", "--yes")
    assert (code, json.loads(out)) == (0, {"purged": 1})
    code, out, _ = run(app, capsys, "dlq", "list", "--all")
    assert json.loads(out) == []
