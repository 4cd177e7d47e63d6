"""Allow ``python -m jobforge``."""

from jobforge.cli import main

raise SystemExit(main())
