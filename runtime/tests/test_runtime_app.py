"""``App.derive`` and ``App.resolved_settings``: an App copy on a store of its own."""

from __future__ import annotations

from pathlib import Path

import fixture_app
import pytest
from pydantic import BaseModel

from jobforge_runtime import App, JobContext, Settings, SettingsError, job


class Ping(BaseModel):
    """Payload of ``extra.ping``."""

    n: int


@job("extra.ping", payload=Ping)
def ping(ctx: JobContext, payload: Ping) -> None:
    """Do nothing."""


def test_resolved_settings_lay_the_environment_over_the_declared_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBS_KEY_PREFIX", "from-env")
    assert fixture_app.app.resolved_settings().key_prefix == "from-env"
    quiet = App(settings=Settings(), catalogue=fixture_app.catalogue, read_env=False)
    assert quiet.resolved_settings().key_prefix == "jobs"


def test_derive_adds_jobs_and_uses_its_settings_as_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JOBS_KEY_PREFIX", "from-env")
    own = Settings(broker_url=f"sqlite:///{tmp_path / 'own.sqlite3'}", key_prefix="own")
    copy = fixture_app.app.derive(settings=own, extra_jobs=[ping])
    assert copy.resolved_settings() == own  # JOBS_KEY_PREFIX is not read for given settings
    assert copy.catalogue.names() == sorted([*fixture_app.catalogue.names(), "extra.ping"])
    assert copy.schedules == fixture_app.app.schedules
    assert copy.backend == fixture_app.app.backend
    assert "extra.ping" not in fixture_app.app.catalogue  # the original is untouched
    job_id = copy.enqueue(ping, Ping(n=1))
    assert copy.runtime.status(job_id) is not None
    assert (tmp_path / "own.sqlite3").exists()


def test_derive_without_settings_resolves_them_as_the_original_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBS_KEY_PREFIX", "from-env")
    copy = fixture_app.app.derive(schedules=())
    assert copy.schedules == ()
    assert copy.resolved_settings().key_prefix == "from-env"


def test_derive_refuses_a_job_name_the_catalogue_already_has() -> None:
    @job("test.work", payload=Ping)
    def clash(ctx: JobContext, payload: Ping) -> None:
        """Clash with the fixture's job."""

    with pytest.raises(SettingsError, match=r"'test\.work' is declared twice"):
        fixture_app.app.derive(extra_jobs=[clash])
