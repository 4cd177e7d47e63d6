"""Worker, scheduler and CLI: ``python -m myapp.jobs --help``."""

from jobforge_runtime.cli import main
from myapp.jobs.app import app

raise SystemExit(main(app, prog="python -m myapp.jobs"))
