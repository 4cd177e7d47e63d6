"""A PostgreSQL cluster of the run's own, which the kit may crash and restart (``broker_restart``).

With ``JOBFORGE_PRIVATE_BROKER=1`` an app on procrastinate runs on a cluster made for the run with
``initdb`` (binaries under ``/usr/lib/postgresql/*/bin``, or ``JOBFORGE_PG_BIN``) and run with
``pg_ctl`` on a free loopback port, instead of the database of its settings, which the kit never
restarts. A crash is ``pg_ctl stop -m immediate`` (no checkpoint, as after a power cut): the
restart replays the write-ahead log, so every committed job is still there. PostgreSQL refuses
to run as root, so as root the cluster belongs to the ``postgres`` user and lives in a folder of
its own under the system's temporary directory, removed by :meth:`PrivatePostgres.close`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from jobforge.errors import ConformanceError

from .private_redis import PRIVATE_BROKER_ENV, free_port, wait_until_up

#: Environment variable naming the folder of PostgreSQL's server binaries (initdb, pg_ctl).
PG_BIN_ENV = "JOBFORGE_PG_BIN"


def _binaries() -> Path:
    named = os.environ.get(PG_BIN_ENV, "").strip()
    found = [named] if named else sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    for folder in reversed(found):
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise ConformanceError(
        f"{PRIVATE_BROKER_ENV}=1 with procrastinate needs PostgreSQL's initdb and pg_ctl; none "
        f"under {named or '/usr/lib/postgresql/*/bin'}: install PostgreSQL's server package or "
        f"set {PG_BIN_ENV} to the folder holding them"
    )


class PrivatePostgres:
    """One PostgreSQL cluster on a free port; its data lives until :meth:`close`."""

    def __init__(self) -> None:
        """Prepare a cluster; nothing is made until :meth:`start`."""
        self.port = free_port()
        self._bin: Path | None = None
        self._folder: Path | None = None
        self._as_user: list[str] = []

    @property
    def url(self) -> str:
        """The cluster's ``postgres`` database (the cluster is the run's alone)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str) -> None:
        assert self._bin is not None
        try:
            subprocess.run(
                [*self._as_user, str(self._bin / tool), *args],
                check=True,
                capture_output=True,
                timeout=120,
            )
        except subprocess.CalledProcessError as exc:
            output = " ".join((exc.stderr or exc.stdout or b"").decode(errors="replace").split())
            raise ConformanceError(
                f"the private PostgreSQL cluster: {tool} {' '.join(args)} failed ({output}); "
                f"see {self._folder}/server.log or unset {PRIVATE_BROKER_ENV}"
            ) from exc

    def _make(self) -> Path:
        self._bin = _binaries()
        folder = Path(tempfile.mkdtemp(prefix="jobforge-private-pg-"))
        folder.chmod(0o755)
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            owner = pwd.getpwnam("postgres")
            os.chown(folder, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._folder = folder
        self._pg("initdb", "-D", str(folder / "data"), "-U", "postgres", "-A", "trust")
        return folder

    def start(self, timeout_s: float = 30.0) -> None:
        """Make the cluster on first use, start it (again, with its data), wait until it answers."""
        folder = self._folder or self._make()
        options = f"-p {self.port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._pg(
            "pg_ctl",
            *("-D", str(folder / "data"), "-o", options, "-l", str(folder / "server.log")),
            *("-w", "-t", str(int(timeout_s)), "start"),
        )
        wait_until_up(self.port, timeout_s, what=f"the private PostgreSQL on port {self.port}")

    def crash(self) -> None:
        """Stop at once, without a checkpoint: the restart must replay the write-ahead log."""
        if self._folder is not None and (self._folder / "data" / "postmaster.pid").exists():
            self._pg("pg_ctl", "-D", str(self._folder / "data"), "-m", "immediate", "stop")

    def restart(self) -> None:
        """Crash the cluster, then start it again on the same port with the same data."""
        self.crash()
        self.start()

    def close(self) -> None:
        """Stop the cluster for good and delete its files."""
        try:
            self.crash()
        finally:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None
