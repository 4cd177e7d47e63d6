"""The soak timeline as SVG: throughput and open jobs over time, faults marked, by hand.

Built with plain string formatting (no plotting dependency) from the JSON report, so it shows
exactly what the report says. Top panel: jobs completed per second in each bucket; bottom
panel: the most jobs enqueued and not yet completed or dead at once in each bucket (queue
depth); a vertical mark per fault, coloured by kind (dashed when unverified), across both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape

from ..adapter import JSONObject, JSONValue

WIDTH: Final = 960
PANEL_H: Final = 170
LEFT: Final = 70
RIGHT: Final = 20
TOP: Final = 52
GAP: Final = 50
#: Colour of each fault kind's marker.
COLOURS: Final[Mapping[str, str]] = {
    "kill": "#d62728",
    "sigterm": "#ff7f0e",
    "kill_in_backoff": "#8c564b",
    "broker_restart": "#9467bd",
    "poison": "#2ca02c",
    "duplicate_storm": "#17becf",
    "scheduler_kill": "#e377c2",
}


def _numbers(rows: Sequence[JSONValue], name: str) -> list[float]:
    values = []
    for row in rows:
        value = row.get(name) if isinstance(row, dict) else None
        values.append(float(value) if isinstance(value, int | float) else 0.0)
    return values


def _axis(y0: float, top: float, label: str, span: float) -> list[str]:
    plot_w = WIDTH - LEFT - RIGHT
    return [
        f'<line x1="{LEFT}" y1="{y0:.1f}" x2="{LEFT + plot_w}" y2="{y0:.1f}" stroke="#333"/>',
        f'<line x1="{LEFT}" y1="{y0:.1f}" x2="{LEFT}" y2="{y0 - PANEL_H:.1f}" stroke="#333"/>',
        f'<text x="{LEFT - 6}" y="{y0 - PANEL_H + 4:.1f}" text-anchor="end">{top:g}</text>',
        f'<text x="{LEFT - 6}" y="{y0 + 4:.1f}" text-anchor="end">0</text>',
        f'<text x="{LEFT}" y="{y0 - PANEL_H - 8:.1f}" font-weight="bold">{escape(label)}</text>',
        f'<text x="{LEFT + plot_w}" y="{y0 + 16:.1f}" text-anchor="end">{span:g} s</text>',
    ]


def render(document: JSONObject) -> str:
    """Render the SVG timeline of one soak report."""
    throughput = document.get("throughput")
    faults = document.get("faults")
    buckets = throughput.get("buckets", []) if isinstance(throughput, dict) else []
    width_s = throughput.get("bucket_s", 1.0) if isinstance(throughput, dict) else 1.0
    events = faults.get("events", []) if isinstance(faults, dict) else []
    rows = buckets if isinstance(buckets, list) else []
    bucket_s = float(width_s) if isinstance(width_s, int | float) and width_s > 0 else 1.0
    rate = [c / bucket_s for c in _numbers(rows, "completed")]
    depth = _numbers(rows, "peak_open_jobs")
    span = max(len(rows) * bucket_s, bucket_s)
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + 2 * PANEL_H + GAP + 70
    y_rate, y_depth = TOP + PANEL_H, TOP + 2 * PANEL_H + GAP

    def x(seconds: float) -> float:
        return LEFT + plot_w * min(max(seconds / span, 0.0), 1.0)

    top_rate, top_depth = max(rate, default=0.0) or 1.0, max(depth, default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">'
        f"{escape(_title(document))}</text>",
        *_axis(y_rate, round(top_rate, 1), "completed jobs per second", span),
        *_axis(
            y_depth,
            top_depth,
            "open jobs, peak per bucket (enqueued, not yet completed or dead)",
            span,
        ),
    ]
    bar_w = max(plot_w / max(len(rate), 1) - 1, 0.5)
    for i, value in enumerate(rate):
        h = PANEL_H * value / top_rate
        parts.append(
            f'<rect x="{x(i * bucket_s):.1f}" y="{y_rate - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}" fill="#1f77b4"/>'
        )
    points = " ".join(
        f"{x((i + 1) * bucket_s):.1f},{y_depth - PANEL_H * v / top_depth:.1f}"
        for i, v in enumerate(depth)
    )
    parts.append(f'<polyline points="{points}" fill="none" stroke="#444" stroke-width="1.5"/>')
    for event in events if isinstance(events, list) else []:
        moment = event.get("at_s") if isinstance(event, dict) else None
        if not isinstance(event, dict) or not isinstance(moment, int | float):
            continue
        kind = str(event.get("kind"))
        at = float(moment)
        dash = "" if event.get("verified") else ' stroke-dasharray="3,3"'
        parts.append(
            f'<line x1="{x(at):.1f}" y1="{TOP:.1f}" x2="{x(at):.1f}" y2="{y_depth:.1f}" '
            f'stroke="{COLOURS.get(kind, "#999")}" stroke-opacity="0.7"{dash}>'
            f"<title>{escape(kind)} at {at:.2f} s</title></line>"
        )
    legend_y = height - 20
    for i, kind in enumerate(_kinds(document)):
        colour = COLOURS.get(kind, "#999")
        lx = LEFT + i * 125
        parts.append(
            f'<line x1="{lx}" y1="{legend_y - 4}" x2="{lx + 14}" y2="{legend_y - 4}" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<text x="{lx + 18}" y="{legend_y}">{escape(kind)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _kinds(document: JSONObject) -> list[str]:
    """Return the fault kinds of the plan (every known kind when the report has no plan)."""
    plan = document.get("plan")
    kinds = plan.get("kinds") if isinstance(plan, dict) else None
    if not isinstance(kinds, list):
        return list(COLOURS)
    return [str(kind) for kind in kinds]


def _title(document: JSONObject) -> str:
    impl, verdict = document.get("implementation"), document.get("verdict")
    name = impl.get("name", "?") if isinstance(impl, dict) else "?"
    if not isinstance(verdict, dict):
        return f"soak of {name}"
    return (
        f"soak of {name}: {verdict.get('lost')} lost, {verdict.get('duplicated')} duplicated, "
        f"{verdict.get('unexpected')} unexpected"
    )


def write(document: JSONObject, path: Path) -> None:
    """Write the SVG timeline of ``document`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(document), "utf-8")
