"""The bundled template kept as a git repository in the user's cache, so projects can update.

``copier update`` needs to find the template a project came from, at the commit it came from:
it reads ``_src_path`` and ``_commit`` from the project's answers file, renders the old version
with the old answers, and merges the difference into the project. A template copied into a
temporary directory is gone by then. So ``jobforge new`` copies from this repository instead:
each distinct content of the bundled template is one commit, tagged ``v<jobforge version>``
(``v<version>+<n>`` when the same version's template changed, as in a development checkout), and
the tag is what the project records.

The repository lives at ``$JOBFORGE_TEMPLATE_CACHE``, else ``$XDG_CACHE_HOME/jobforge/template``,
else ``~/.cache/jobforge/template``. A lock file next to it serializes concurrent ``jobforge new``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from jobforge.errors import TemplateError

CACHE_ENV = "JOBFORGE_TEMPLATE_CACHE"
_IDENTITY = (
    "-c",
    "user.name=jobforge",
    "-c",
    "user.email=jobforge@localhost",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
)


def default_cache_path() -> Path:
    """Return where the template repository lives (see the module docstring)."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "jobforge" / "template"


def git_available() -> bool:
    """Return whether a ``git`` executable is on the PATH (copier needs it to update too)."""
    return shutil.which("git") is not None


class TemplateCache:
    """A git repository holding every version of the bundled template this machine has used."""

    def __init__(self, path: Path, version: str) -> None:
        """Keep the repository at ``path``; tag new content with jobforge ``version``."""
        self.path = path
        self.version = version

    def publish(self, write: Callable[[Path], object]) -> str:
        """Make ``write(directory)``'s template the newest commit if it is new; return its tag."""
        self.path.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if not (self.path / ".git").is_dir():
                self._git("init", "-q")
            for child in self.path.iterdir():
                if child.name != ".git":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            write(self.path)
            self._git("add", "-A")
            has_head = self._git_ok("rev-parse", "--verify", "-q", "HEAD")
            if has_head and not self._git("status", "--porcelain").strip():
                tags = self._git("tag", "--points-at", "HEAD").split()
                if tags:
                    return max(tags, key=_tag_order)
            tag = self._next_tag()
            self._git("commit", "-q", "--allow-empty", "-m", f"jobforge {self.version} template")
            self._git("tag", tag)
            return tag

    def _next_tag(self) -> str:
        base = f"v{self.version}"
        existing = set(self._git("tag", "--list").split())
        if base not in existing:
            return base
        pattern = re.compile(rf"^{re.escape(base)}\+(\d+)$")
        taken = [int(m.group(1)) for tag in existing if (m := pattern.match(tag))]
        return f"{base}+{max(taken, default=0) + 1}"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self.path.parent / f".{self.path.name}.lock"
        with lock.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *_IDENTITY, *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            check=False,
        )

    def _git_ok(self, *args: str) -> bool:
        return self._run(*args).returncode == 0

    def _git(self, *args: str) -> str:
        done = self._run(*args)
        if done.returncode != 0:
            raise TemplateError(
                f"git {' '.join(args)} failed in the template cache {self.path}: "
                f"{done.stderr.strip() or done.stdout.strip()}; fix the repository there, or "
                f"delete it (it is rebuilt), or point {CACHE_ENV} at another directory"
            )
        return done.stdout


def _tag_order(tag: str) -> tuple[int, str]:
    number = tag.rpartition("+")[2]
    return (int(number) if "+" in tag and number.isdigit() else 0, tag)
