"""The adapter reference: every method of the adapter Protocol and every value type, from code."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from jobforge.docs_gen.markdown import cell, table
from jobforge.docs_gen.sources import adapter_module

#: The value types an adapter builds or receives, in the order a reader meets them.
VALUE_TYPES: tuple[str, ...] = (
    "Description",
    "JobSpec",
    "RunContext",
    "Timing",
    "TimingFacts",
    "JobInfo",
    "DeadLetter",
    "ScheduleEntry",
)


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return cell(doc.split("\n\n")[0].replace("``", "`"))


def _methods(protocol: type) -> list[tuple[str, str]]:
    rows = []
    for name, member in vars(protocol).items():
        if name.startswith("_") or (not callable(member) and not isinstance(member, property)):
            continue
        target: Any = member.fget if isinstance(member, property) else member
        signature = str(inspect.signature(target)).replace("'", "")
        signature = signature.replace("self, ", "").replace("(self)", "()")
        rows.append((f"`{name}{signature}`", _summary(member)))
    return rows


def _fields(value_type: Any) -> list[tuple[str, str, str]]:
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
    adapter: Any = adapter_module()
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
        "## Fault seams (optional)",
        "",
        _summary(adapter.WorkerProcesses),
        "",
        *table(["method", "what it must do"], _methods(adapter.WorkerProcesses)),
        "",
        _summary(adapter.WorkerLiveness),
        "",
        *table(["method", "what it must do"], _methods(adapter.WorkerLiveness)),
        "",
        "## Jitter models",
        "",
        _summary(adapter.JitterModel),
        "",
        *table(["model"], [(f"`{m.value}`",) for m in adapter.JitterModel]),
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
    for name in VALUE_TYPES:
        value_type = getattr(adapter, name)
        lines += [f"## `{name}`", "", _summary(value_type), ""]
        lines += table(["field", "type", "default"], _fields(value_type))
        lines.append("")
    return "\n".join(lines)
