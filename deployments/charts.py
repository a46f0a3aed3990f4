"""Geometry for server-rendered SVG charts: pure Python, no Django.

The detail page's lead-time chart is a stacked bar per row (this deployment, and the
application's median), all rows on one scale. This module decides every number the
template draws (pixel widths, label positions, the text that fits in a segment) so the
template only loops, and the geometry can be tested without rendering anything.

Widths are whole pixels, apportioned by largest remainder so that a bar's segments add
up exactly to the bar's width (rounding each segment on its own can leave a bar a pixel
or two short of, or beyond, the scale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .display import exact_duration, format_duration

# The lead-time stages in the order they happen, with the names people read.
STAGES: tuple[tuple[str, str], ...] = (
    ("coding", "Coding"),
    ("review", "Review"),
    ("wait", "Wait"),
    ("deploy", "Deploy"),
)

# Layout of the stage chart, in SVG user units (the viewBox scales with the page).
LABEL_WIDTH = 130  # the row names on the left
BAR_X = LABEL_WIDTH + 8
BAR_WIDTH = 480  # the longest bar
TOTAL_GAP = 8  # between a bar's end and its total
TOTAL_WIDTH = 110  # room for the total to the right of the longest bar
CHART_WIDTH = BAR_X + BAR_WIDTH + TOTAL_GAP + TOTAL_WIDTH
ROW_HEIGHT = 40
BAR_HEIGHT = 28
# A segment's label must fit: about 7 units per character at the chart's 12px font,
# plus padding either side.
CHAR_WIDTH = 7
LABEL_PADDING = 4


def apportion(values: Sequence[int], total_width: int) -> list[int]:
    """Whole widths proportional to `values` that add up to exactly `total_width`.

    Largest remainder: each value gets the floor of its share, and the pixels left over
    go to the largest fractional parts (ties to the earlier value). Negative values
    count as zero; all zeros give all zeros.
    """
    if total_width < 0:
        raise ValueError("total_width must not be negative")
    weights = [max(value, 0) for value in values]
    weight_sum = sum(weights)
    if weight_sum == 0 or total_width == 0:
        return [0] * len(weights)
    # Integer arithmetic: no float error however large the durations are.
    exact = [weight * total_width for weight in weights]
    widths = [share // weight_sum for share in exact]
    left_over = total_width - sum(widths)
    by_remainder = sorted(
        range(len(weights)), key=lambda index: (-(exact[index] % weight_sum), index)
    )
    for index in by_remainder[:left_over]:
        widths[index] += 1
    return widths


def fitting_label(candidates: Sequence[str], width: int) -> str:
    """The first candidate that fits in `width` units, or "" when none does."""
    for candidate in candidates:
        if len(candidate) * CHAR_WIDTH + 2 * LABEL_PADDING <= width:
            return candidate
    return ""


@dataclass(frozen=True)
class Segment:
    stage: str  # "coding", for the CSS class
    name: str  # "Coding"
    duration_ms: int
    x: int
    width: int
    label: str  # drawn inside the segment; "" when nothing fits
    title: str  # the hover text: exact values

    @property
    def label_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Bar:
    name: str  # the row's name, drawn to its left
    y: int
    total_ms: int
    width: int
    segments: tuple[Segment, ...]  # every stage, zero-width ones included
    total_label: str
    title: str

    @property
    def drawn_segments(self) -> tuple[Segment, ...]:
        """The segments with any width: a zero-width rectangle draws nothing."""
        return tuple(segment for segment in self.segments if segment.width > 0)

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT / 2

    @property
    def end_x(self) -> int:
        return BAR_X + self.width + TOTAL_GAP


@dataclass(frozen=True)
class StageChart:
    width: int
    height: int
    bars: tuple[Bar, ...]

    @property
    def bar_x(self) -> int:
        return BAR_X

    @property
    def label_x(self) -> int:
        return LABEL_WIDTH

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT


def stage_chart(rows: Sequence[tuple[str, Mapping[str, int]]]) -> StageChart:
    """A stacked bar per row, `(name, {stage: milliseconds})`, on one shared scale.

    The longest total spans `BAR_WIDTH`; the others are proportional to it. Every row
    must have all four stages (callers show text instead when stages are unknown).
    """
    totals = [sum(max(stages[stage], 0) for stage, _ in STAGES) for _, stages in rows]
    longest = max(totals, default=0)
    bars = []
    for index, ((name, stages), total) in enumerate(zip(rows, totals, strict=True)):
        bars.append(_bar(name, stages, total, _scaled(total, longest), y=index * ROW_HEIGHT + 6))
    return StageChart(width=CHART_WIDTH, height=len(rows) * ROW_HEIGHT + 6, bars=tuple(bars))


def _scaled(total: int, longest: int) -> int:
    """The bar width for `total` when `longest` spans the whole bar area (rounded half up)."""
    if longest <= 0:
        return 0
    return (2 * total * BAR_WIDTH + longest) // (2 * longest)


def _bar(name: str, stages: Mapping[str, int], total: int, width: int, *, y: int) -> Bar:
    durations = [stages[stage] for stage, _ in STAGES]
    widths = apportion(durations, width)
    segments = []
    x = BAR_X
    for (stage, stage_name), duration, segment_width in zip(STAGES, durations, widths, strict=True):
        readable = format_duration(duration)
        label = fitting_label(
            (f"{stage_name} {readable}", stage_name, stage_name[0]), segment_width
        )
        segments.append(
            Segment(
                stage=stage,
                name=stage_name,
                duration_ms=duration,
                x=x,
                width=segment_width,
                label=label,
                title=f"{name}, {stage_name.lower()}: {exact_duration(duration)}",
            )
        )
        x += segment_width
    return Bar(
        name=name,
        y=y,
        total_ms=total,
        width=width,
        segments=tuple(segments),
        total_label=format_duration(total),
        title=f"{name}, the four stages together: {exact_duration(total)}",
    )
