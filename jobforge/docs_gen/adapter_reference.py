"""The adapter reference: every method of the adapter Protocol and every value type, from the code."""

from __future__ import annotations

import dataclasses
import inspect

from jobforge.conformance import adapter
from jobforge.docs_gen.markdown import cell, table

#: The value types an adapter builds or receives, in the order a reader meets them.
VALUE_TYPES: tuple[type, ...] = (
    adapter.Description,
    adapter.JobSpec,
    adapter.RunContext,
    adapter.Timing,
    adapter.JobInfo,
    adapter.DeadLetter,
    adapter.ScheduleEntry,
)


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return cell(doc.split("\n\n")[0].replace("``", "`"))


def _methods(protocol: type) -> list[tuple[str, str]]:
    rows = []
    for name, member in vars(protocol).items():
        if name.startswith("_") or not callable(member) and not isinstance(member, property):
            continue
        target = member.fget if isinstance(member, property) else member
        signature = str(inspect.signature(target)).replace("'", "")
        signature = signature.replace("self, ", "").replace("(self)", "()")
        rows.append((f"`{name}{signature}`", _summary(member)))
    return rows


def _fields(value_type: type) -> list[tuple[str, str, str]]:
    rows = []
    for f in dataclasses.fields(value_type):
        if f.default is not dataclasses.MISSING:
            default = f"`{f.default!r}`"
        elif f.default_factory is not dataclasses.MISSING:
            default = f"`{f.default_factory()!r}`"
        else:
            default = "required"
        rows.append((f"`{f.name}`", f"`{str(f.type).replace(chr(39), '')}`", default))
    return rows


def adapter_reference_markdown() -> str:
    """Render the adapter Protocol, the probe context, capabilities and value types as Markdown."""
    lines = [
        "# Adapter reference",
        "",
        "Generated from `jobforge.conformance.adapter`, so it always matches the code. The "
        "[adapter guide](../guides/adapter.md) explains how to write one.",
        "",
        "## `Adapter` methods",
        "",
        _summary(adapter.Adapter),
        "",
        *table(["method", "what it must do"], _methods(adapter.Adapter)),
        "",
        "## `ProbeContext` members",
        "",
        _summary(adapter.ProbeContext),
        "",
        *table(["member", "what it must do"], _methods(adapter.ProbeContext)),
        "",
        "## Capabilities",
        "",
        _summary(adapter.Capability),
        "",
        *table(["capability"], [(f"`{c.value}`",) for c in adapter.Capability]),
        "",
        "## Job statuses",
        "",
        _summary(adapter.JobStatus),
        "",
        *table(["status"], [(f"`{s.value}`",) for s in adapter.JobStatus]),
        "",
    ]
    for value_type in VALUE_TYPES:
        lines += [f"## `{value_type.__name__}`", "", _summary(value_type), ""]
        lines += table(["field", "type", "default"], _fields(value_type))
        lines.append("")
    return "\n".join(lines)
