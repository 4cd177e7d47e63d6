"""The ``jobforge`` command line: a thin router over the subcommands each part registers.

Each part of jobforge owns its subcommands in its own ``cli`` module exposing
``register(subparsers)``; handlers return an exit code. Heavy imports stay inside handlers so
``jobforge --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from jobforge import __version__
from jobforge.errors import JobforgeError

#: Modules that contribute subcommands, each with a ``register(subparsers)`` function.
COMMAND_MODULES: tuple[str, ...] = (
    "jobforge.questionnaire.cli",
    "jobforge.rubric.cli",
    "jobforge.conformance.cli",
    "jobforge.conformance.stability",
    "jobforge.conformance.soak.cli",
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Build the root parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="jobforge",
        description="Scaffold background jobs and score them on the 35-point rubric.",
    )
    parser.add_argument("--version", action="version", version=f"jobforge {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except JobforgeError as exc:
        print(f"jobforge: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jobforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
