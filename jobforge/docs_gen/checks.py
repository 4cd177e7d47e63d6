"""The check catalogue page: every conformance check, what earns it and how the kit runs it."""

from __future__ import annotations

from collections.abc import Mapping

from jobforge.docs_gen.markdown import cell, table
from jobforge.docs_gen.sources import RubricLike


def check_catalogue_markdown(rubric: RubricLike, how: Mapping[str, str] | None = None) -> str:
    """Render every check of ``rubric``, grouped by dimension.

    ``how`` maps a check id to how the conformance kit runs it (from the kit's check registry);
    a check the kit does not implement yet is marked so rather than described.
    """
    how = how or {}
    total = sum(len(d.checks) for d in rubric.dimensions)
    lines = [
        "# Check catalogue",
        "",
        f"The {total} checks of the conformance kit, generated from the rubric and the kit's "
        "check registry. A check's id is stable once published. *Level* says the lowest level "
        "that needs the check: a **3** check is needed for 3 points and for 5; a **5** check only "
        "for the full 5.",
        "",
    ]
    for dim in rubric.dimensions:
        level3 = set(dim.level(3).requires)
        lines += [f"## {dim.title}", "", f"*{cell(dim.question)}*", ""]
        rows = [
            (
                f"`{c.id}`",
                c.title,
                "3" if c.id in level3 else "5",
                c.verifies,
                how.get(c.id, "not implemented by the kit yet"),
                c.remediation,
            )
            for c in dim.checks
        ]
        lines += table(
            ["check", "title", "level", "a pass proves", "how the kit checks", "fix for a fail"],
            rows,
        )
        lines.append("")
    return "\n".join(lines)
