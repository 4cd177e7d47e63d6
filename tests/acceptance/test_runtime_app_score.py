"""An app on the runtime is scored from its App alone: ``jobforge score`` in examples/runtime-app.

The project names its App in ``[tool.jobforge]`` and has no scoring code. One full run per
backend (each takes about a minute): Huey on SQLite, and Celery on the shared Redis in DB 12
under the run's own key prefix, which the run leaves empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from services_support import require_service

pytestmark = pytest.mark.acceptance

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "runtime-app"
#: The Redis database the Celery run uses (shared server; its keys carry the run's prefix).
REDIS_DB = 12


def _score(tmp_path: Path, **env: str) -> dict[str, Any]:
    out = tmp_path / "score.json"
    done = subprocess.run(
        [sys.executable, "-m", "jobforge", "score", "--no-progress", "--json", str(out)],
        cwd=EXAMPLE,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    shown = f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, shown
    results: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    failing = {o["check_id"]: o["outcome"] for o in results["outcomes"] if o["outcome"] != "pass"}
    assert (results["scorecard"]["total"], failing) == (35, {}), shown
    assert not (EXAMPLE / "var").exists(), "the run wrote into the project's own store"
    return results


def test_the_example_app_scores_35_on_huey_and_sqlite(tmp_path: Path) -> None:
    results = _score(tmp_path)
    assert results["implementation"]["backend"] == "sqlite+huey"


def test_the_example_app_scores_35_on_celery_and_redis(tmp_path: Path) -> None:
    import redis

    url = require_service("redis").rsplit("/", 1)[0] + f"/{REDIS_DB}"
    before = set(redis.Redis.from_url(url).scan_iter(match="jobforge-conf-*"))
    results = _score(tmp_path, SHOP_JOBS_BACKEND="celery", JOBS_BROKER_URL=url)
    assert results["implementation"]["backend"] == "redis+celery"
    left = set(redis.Redis.from_url(url).scan_iter(match="jobforge-conf-*")) - before
    assert not left, f"the run left {len(left)} keys in Redis DB {REDIS_DB}"
