"""The template cache: one commit and tag per distinct template content, reused when unchanged."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from jobforge.questionnaire.template_cache import CACHE_ENV, TemplateCache, default_cache_path

pytestmark = pytest.mark.unit


def _writer(text: str) -> Callable[[Path], Path]:
    def write(directory: Path) -> Path:
        (directory / "copier.yml").write_text(text)
        (directory / "templates").mkdir()
        (directory / "templates" / "file.txt").write_text(text)
        return directory

    return write


def _show(repo: Path, tag: str) -> str:
    return subprocess.run(
        ["git", "show", f"{tag}:copier.yml"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def test_same_content_reuses_its_tag_and_new_content_gets_the_next(tmp_path: Path) -> None:
    cache = TemplateCache(tmp_path / "template", "1.2.0")
    first = cache.publish(_writer("a"))
    again = cache.publish(_writer("a"))
    changed = cache.publish(_writer("b"))
    changed_again = cache.publish(_writer("c"))
    assert (first, again, changed, changed_again) == ("v1.2.0", "v1.2.0", "v1.2.0+1", "v1.2.0+2")
    assert _show(cache.path, "v1.2.0") == "a" and _show(cache.path, "v1.2.0+2") == "c"
    newer = TemplateCache(tmp_path / "template", "1.3.0").publish(_writer("d"))
    assert newer == "v1.3.0"


def test_files_removed_from_the_template_leave_the_repository(tmp_path: Path) -> None:
    cache = TemplateCache(tmp_path / "template", "1.0.0")

    def with_extra(directory: Path) -> None:
        _writer("a")(directory)
        (directory / "gone.txt").write_text("x")

    cache.publish(with_extra)
    cache.publish(_writer("a"))
    assert not (cache.path / "gone.txt").exists()


def test_cache_location_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "explicit"))
    assert default_cache_path() == tmp_path / "explicit"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == tmp_path / "xdg" / "jobforge" / "template"


def test_concurrent_publishers_agree_on_one_commit(tmp_path: Path) -> None:
    cache = TemplateCache(tmp_path / "template", "2.0.0")
    with ThreadPoolExecutor(max_workers=4) as pool:
        tags = list(pool.map(lambda _: cache.publish(_writer("same")), range(8)))
    assert set(tags) == {"v2.0.0"}
    log = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"],
        cwd=cache.path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert log.stdout.strip() == "1"
