"""Colours shared by every visual report, taken from the rubric's bands.

Level 5 and a production-grade total use the first band's colour (green), level 3 the second
(amber), level 1 the last (red); anything undecided is grey.
"""

from __future__ import annotations

from .model import Rubric
from .scoring import Scorecard

#: Colour of an undecided level or an incomplete total.
GREY = "#9e9e9e"


def level_colour(rubric: Rubric, level: int | None) -> str:
    """Colour of a dimension level: green 5, amber 3, red 1, grey when undecided."""
    if level is None:
        return GREY
    index = {5: 0, 3: 1}.get(level, len(rubric.bands) - 1)
    return rubric.bands[min(index, len(rubric.bands) - 1)].color


def total_colour(card: Scorecard) -> str:
    """Colour of the total: its band's colour, grey when incomplete or partial (no band)."""
    return card.band.color if card.has_band else GREY
