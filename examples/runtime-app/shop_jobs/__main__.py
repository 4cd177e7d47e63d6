"""Worker, scheduler and CLI: ``python -m shop_jobs --help``."""

from jobforge_runtime.cli import main

from shop_jobs.app import APP

raise SystemExit(main(APP, prog="python -m shop_jobs"))
