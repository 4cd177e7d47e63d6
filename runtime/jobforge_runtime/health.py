"""Health: ``ok`` only when the store and the broker answer and at least one worker is alive.

Served with the Prometheus metrics by :class:`HealthServer`: ``/health`` (JSON, 200 or 503),
``/metrics`` and ``/jobs/<id>``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jobforge_runtime.metrics import exposition
from jobforge_runtime.runtime import Runtime


def health_document(runtime: Runtime) -> dict[str, Any]:
    """Return the health document; ``status`` is ``ok`` or ``degraded`` with the reasons."""
    problems: list[str] = []
    try:
        ledger_ok = runtime.ledger.ping()
    except Exception:
        ledger_ok = False
    broker_ok = runtime.dispatcher.ping()
    workers: list[str] = []
    if ledger_ok:
        since = runtime.clock() - runtime.settings.worker_alive_s
        workers = runtime.ledger.live_workers(since=since)
    if not ledger_ok:
        problems.append("the job ledger does not answer")
    if not broker_ok:
        problems.append("the broker does not answer")
    if ledger_ok and not workers:
        problems.append(
            f"no worker was seen in the last {runtime.settings.worker_alive_s:g} s; start one"
        )
    doc: dict[str, Any] = {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "ledger": "ok" if ledger_ok else "down",
        "broker": "ok" if broker_ok else "down",
        "workers": workers,
    }
    if ledger_ok:
        doc.update({k: int(v) for k, v in runtime.ledger.gauges().items()})
    return doc


def _handler(runtime: Runtime) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                doc = health_document(runtime)
                code = 200 if doc["status"] == "ok" else 503
                self._send(code, "application/json", json.dumps(doc).encode())
            elif self.path == "/metrics":
                self._send(200, "text/plain; version=0.0.4", exposition(runtime))
            elif self.path.startswith("/jobs/"):
                record = runtime.ledger.get(self.path.removeprefix("/jobs/"))
                if record is None:
                    self._send(404, "application/json", b'{"error": "no such job"}')
                else:
                    self._send(200, "application/json", json.dumps(asdict(record)).encode())
            else:
                self._send(404, "application/json", b'{"error": "not found"}')

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


class HealthServer:
    """The endpoint in a background thread (``port=0`` picks a free port)."""

    def __init__(self, runtime: Runtime, *, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind the server."""
        self.server = ThreadingHTTPServer((host, port), _handler(runtime))
        self.thread = threading.Thread(target=self.server.serve_forever, name="health", daemon=True)

    @property
    def url(self) -> str:
        """The base URL."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> HealthServer:
        """Serve in the background."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
