"""SVG images: a shields-style badge ("jobs 31/35") and a bar chart of the seven dimensions.

Colours come from the rubric's bands: level 5 and a production-grade total are green, level 3 and
"needs reliability work" amber, level 1 and "fail silently" red; anything undecided is grey with a
"?".
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from .colours import GREY, level_colour, total_colour
from .model import Rubric
from .results import RunResults
from .scoring import DimensionScore, Scorecard

_FONT = "DejaVu Sans,Verdana,Geneva,sans-serif"
_NARROW = set("ijl.,:;!|'()[]1/ ")
_WIDE = set("mwMW@%")


def text_width(text: str, size: float = 11.0) -> float:
    """Estimate the width of ``text`` in pixels for an 11 px sans-serif font (no font metrics)."""
    units = sum(0.35 if c in _NARROW else 0.9 if c in _WIDE else 0.62 for c in text)
    return units * size


def render_badge(results: RunResults, card: Scorecard, rubric: Rubric, label: str = "jobs") -> str:
    """Render a flat badge such as "jobs | 31/35", coloured by band."""
    value = card.total_display
    lw = round(text_width(label) + 12)
    vw = round(text_width(value) + 12)
    width = lw + vw
    colour = total_colour(card)
    verdict = card.verdict if card.partial else card.band.label
    title = escape(f"{label}: {value} — {verdict}" + ("" if card.complete else " (?)"))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" '
        f'role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        f'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill="{colour}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="{_FONT}" font-size="11">'
        f'<text x="{lw / 2}" y="14">{escape(label)}</text>'
        f'<text x="{lw + vw / 2}" y="14">{escape(value)}</text></g></svg>\n'
    )


def _bar(dim: DimensionScore, rubric: Rubric, y: float, x0: float, unit: float) -> list[str]:
    if not dim.ran:
        return [f'<text x="{x0 + 4}" y="{y + 15}" fill="{GREY}">not run</text>']
    colour = level_colour(rubric, dim.level)
    parts = [
        f'<rect x="{x0}" y="{y}" width="{unit * dim.lower_bound}" height="20" rx="2" '
        f'fill="{colour}"><title>{escape(dim.title)}: {dim.display}/5</title></rect>'
    ]
    if dim.level is None:
        parts.append(
            f'<rect x="{x0}" y="{y}" width="{unit * dim.upper_bound}" height="20" rx="2" '
            f'fill="none" stroke="{GREY}" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
    label = "?" if dim.level is None else str(dim.level)
    parts.append(
        f'<text x="{x0 + unit * 5 + 10}" y="{y + 15}" font-weight="bold" fill="{colour}">'
        f"{label}/5</text>"
    )
    return parts


def render_chart(results: RunResults, card: Scorecard, rubric: Rubric) -> str:
    """Render a horizontal bar chart of the seven dimensions with the total and band."""
    row, top, label_w, unit = 32, 56, 130, 56
    x0 = label_w + 10
    height = top + row * len(card.dimensions) + 40
    width = x0 + unit * 5 + 70
    impl = results.implementation
    head = escape(f"{impl.name} {impl.version} ({impl.backend})")
    summary = escape(f"{card.total_display} — {card.verdict}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="jobforge rubric: {summary}">',
        f"<title>jobforge rubric {escape(card.rubric_version)}: {head}: {summary}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<g font-family="{_FONT}" font-size="13" fill="#222">',
        f'<text x="12" y="22" font-size="15" font-weight="bold">{head}</text>',
        f'<text x="12" y="42" fill="{total_colour(card)}" font-weight="bold">{summary}</text>',
    ]
    bottom = top + row * len(card.dimensions)
    for points in range(6):
        x = x0 + unit * points
        parts.append(
            f'<line x1="{x}" y1="{top - 4}" x2="{x}" y2="{bottom}" stroke="#e0e0e0" '
            f'stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{x}" y="{bottom + 16}" text-anchor="middle" font-size="11" '
            f'fill="#757575">{points}</text>'
        )
    for i, dim in enumerate(card.dimensions):
        y = top + row * i + 4
        parts.append(
            f'<text x="{label_w}" y="{y + 15}" text-anchor="end">{escape(dim.title)}</text>'
        )
        parts.extend(_bar(dim, rubric, y, x0, unit))
    if not card.complete:
        parts.append(
            f'<text x="12" y="{height - 8}" font-size="11" fill="#757575">? = undecided: '
            f"inconclusive checks; dashed = what it could reach</text>"
        )
    parts += ["</g>", "</svg>"]
    return "\n".join(parts) + "\n"
