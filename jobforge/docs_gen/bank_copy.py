"""Keep the spec templates' copy of the question bank in step with the bank.

The spec documents show each option's pros and cons, which only the question bank holds, and
copier renders with nothing but the template tree. So ``templates/project/~jobforge/`` carries
byte-for-byte copies of ``questionnaire/questions.yaml`` and ``questionnaire/decision_tree.yaml``
(copier.yml excludes ``~*``, so they never reach a generated project). The bank stays the one
source: ``python -m jobforge.docs_gen.bank_copy --write`` refreshes the copies, ``--check`` (and a
test) fails when they drift.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

#: The bank files the spec templates read.
BANK_FILES: tuple[str, ...] = ("questions.yaml", "decision_tree.yaml")
#: Where the bank lives, relative to the repository top.
BANK_DIR = Path("questionnaire")
#: Where the templates' copies live, relative to the repository top.
COPY_DIR = Path("templates") / "project" / "~jobforge"


def stale_copies(root: Path) -> list[str]:
    """Return the copies under ``root`` that are missing or differ from the bank."""
    stale = []
    for name in BANK_FILES:
        copy = root / COPY_DIR / name
        original = (root / BANK_DIR / name).read_bytes()
        if not copy.is_file() or copy.read_bytes() != original:
            stale.append(str(COPY_DIR / name))
    return stale


def write_copies(root: Path) -> list[str]:
    """Refresh every stale copy under ``root``; return the ones written."""
    written = stale_copies(root)
    for relative in written:
        name = Path(relative).name
        (root / relative).write_bytes((root / BANK_DIR / name).read_bytes())
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Check (exit 1 when stale) or write the copies in the repository at ``--root``."""
    parser = argparse.ArgumentParser(prog="python -m jobforge.docs_gen.bank_copy")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true", help="exit 1 when a copy is stale")
    action.add_argument("--write", action="store_true", help="refresh stale copies")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository top")
    args = parser.parse_args(argv)
    if args.write:
        for relative in write_copies(args.root):
            print(f"wrote {relative}")
        return 0
    stale = stale_copies(args.root)
    for relative in stale:
        print(
            f"{relative} differs from questionnaire/{Path(relative).name}; "
            "run: python -m jobforge.docs_gen.bank_copy --write",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
