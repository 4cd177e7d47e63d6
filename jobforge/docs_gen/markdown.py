"""Small Markdown helpers shared by the page generators."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def cell(value: object) -> str:
    """Return ``value`` as one Markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """Return the lines of a Markdown table with ``headers`` and ``rows``."""
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines


def code(value: object) -> str:
    """Return ``value`` as inline code, rendering lists and booleans the way YAML writes them."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(str(item) for item in value) + "]"
    else:
        text = str(value)
    return f"`{text}`"
