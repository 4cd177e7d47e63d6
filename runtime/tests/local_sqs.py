"""A local SQS-compatible server for one test session: moto's server mode, as a subprocess.

Never a mock inside the test process: boto3 talks HTTP to ``moto_server`` on a free port, with
throwaway credentials from the environment, as production talks to AWS.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_support import IN_CI


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def moto_env(endpoint: str) -> dict[str, str]:
    """Return the AWS variables that point boto3 at the local server."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_SQS": endpoint,
    }


def run_moto(log: Path) -> Iterator[str]:
    """Start ``moto_server`` on a free port; yield its URL; stop it afterwards."""
    binary = shutil.which("moto_server")
    if binary is None:
        reason = "moto_server is not installed: pip install 'moto[server]'"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            break
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                message = f"moto_server did not start ({exc}): {log.read_text()}"
                raise AssertionError(message) from exc
            time.sleep(0.1)
    try:
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
