"""Geometry for server-rendered SVG charts: pure Python, no Django.

The detail page's lead-time chart is a stacked bar per row (this deployment, and the
application's median), all rows on one scale. This module decides every number drawn
(pixel widths, label positions, the text that fits in a segment) so that the markup
(templatetags/stage_chart.py) only writes them out, and the geometry can be tested
without rendering anything.

A chart comes in two layouts, both drawn into the page, one shown by CSS (detail.css):
`WIDE`, rows named to the left of their bars with the total after the bar's end; and
`NARROW`, for a phone, each row's name and total on a line above a bar that spans the
whole chart. An SVG scales with its box, text included: the wide chart squeezed into a
375 px phone drew its text about 5 px high, while the narrow one, about as wide in user
units as a phone in pixels, draws it near its nominal 12 px.

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

BAR_HEIGHT = 28
# A segment's label must fit: about 7 units per character at the chart's 12px font,
# plus padding either side.
CHAR_WIDTH = 7
LABEL_PADDING = 4


@dataclass(frozen=True)
class Layout:
    """Where a chart's parts go, in SVG user units (the viewBox scales with the page)."""

    name: str  # "wide" or "narrow": the CSS class that shows it
    bar_x: int  # where every bar starts
    bar_width: int  # the longest bar
    row_height: int
    labels_above: bool  # each row's name and total on a line above its bar
    label_width: int = 0  # beside: room for the row names left of the bars
    total_gap: int = 0  # beside: between a bar's end and its total
    total_width: int = 0  # beside: room for the total right of the longest bar
    top: int = 6  # above the first row
    bottom: int = 12  # below the last bar

    @property
    def width(self) -> int:
        return self.bar_x + self.bar_width + self.total_gap + self.total_width


# Row names left, the total after each bar.
WIDE = Layout(
    name="wide",
    label_width=130,
    bar_x=138,
    bar_width=480,
    total_gap=8,
    total_width=110,
    row_height=40,
    labels_above=False,
)
# A phone: a line of 18 units for the name and total, the bar below it, 12 between rows;
# 340 units, about a phone's width in pixels, so that text keeps about its own size. (A
# unit either side keeps the bars' outlines inside the drawing.)
LABEL_LINE = 18
NARROW = Layout(
    name="narrow",
    bar_x=1,
    bar_width=338,
    total_width=1,
    row_height=LABEL_LINE + BAR_HEIGHT + 12,
    labels_above=True,
    top=2,
    bottom=10,
)
LAYOUTS = (WIDE, NARROW)


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
    label_x: float  # the middle of the segment


@dataclass(frozen=True)
class Bar:
    name: str  # the row's name
    y: int  # the bar's top
    total_ms: int
    width: int
    segments: tuple[Segment, ...]  # every stage, zero-width ones included
    drawn_segments: tuple[Segment, ...]  # those with any width (zero draws nothing)
    total_label: str
    title: str
    text_y: float  # the middle of the bar, for the labels inside it
    # The row's name and its total: where they are drawn, and which end of the text is
    # at x (SVG's text-anchor).
    name_x: int
    name_y: float
    name_anchor: str
    total_x: int
    total_y: float
    total_anchor: str


@dataclass(frozen=True)
class StageChart:
    layout: str  # "wide" or "narrow"
    width: int
    height: int
    bars: tuple[Bar, ...]
    bar_height: int = BAR_HEIGHT


def stage_chart(rows: Sequence[tuple[str, Mapping[str, int]]], layout: Layout = WIDE) -> StageChart:
    """A stacked bar per row, `(name, {stage: milliseconds})`, on one shared scale.

    The longest total spans the layout's bar width; the others are proportional to it.
    Every row must have all four stages (callers show text instead when stages are
    unknown).
    """
    totals = [sum(max(stages[stage], 0) for stage, _ in STAGES) for _, stages in rows]
    longest = max(totals, default=0)
    bars = tuple(
        _bar(name, stages, total, _scaled(total, longest, layout.bar_width), index, layout)
        for index, ((name, stages), total) in enumerate(zip(rows, totals, strict=True))
    )
    last_bar_end = (bars[-1].y + BAR_HEIGHT) if bars else layout.top
    height = last_bar_end + layout.bottom
    return StageChart(layout=layout.name, width=layout.width, height=height, bars=bars)


def stage_charts(rows: Sequence[tuple[str, Mapping[str, int]]]) -> tuple[StageChart, ...]:
    """The same rows in every layout, wide first."""
    return tuple(stage_chart(rows, layout) for layout in LAYOUTS)


def _scaled(total: int, longest: int, bar_width: int) -> int:
    """The bar width for `total` when `longest` spans `bar_width` (rounded half up)."""
    if longest <= 0:
        return 0
    return (2 * total * bar_width + longest) // (2 * longest)


def _bar(
    name: str, stages: Mapping[str, int], total: int, width: int, index: int, layout: Layout
) -> Bar:
    top = layout.top + index * layout.row_height
    y = top + LABEL_LINE if layout.labels_above else top
    text_y = y + BAR_HEIGHT / 2
    durations = [stages[stage] for stage, _ in STAGES]
    widths = apportion(durations, width)
    segments = []
    x = layout.bar_x
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
                title=f"{name}, {stage_name.lower()}: {exact_duration(duration, readable)}",
                label_x=x + segment_width / 2,
            )
        )
        x += segment_width
    if layout.labels_above:
        line_y = top + LABEL_LINE / 2
        name_at = (layout.bar_x, line_y, "start")
        total_at = (layout.bar_x + layout.bar_width, line_y, "end")
    else:
        name_at = (layout.label_width, text_y, "end")
        total_at = (layout.bar_x + width + layout.total_gap, text_y, "start")
    total_label = format_duration(total)
    return Bar(
        name=name,
        y=y,
        total_ms=total,
        width=width,
        segments=tuple(segments),
        drawn_segments=tuple(segment for segment in segments if segment.width > 0),
        total_label=total_label,
        title=f"{name}, the four stages together: {exact_duration(total, total_label)}",
        text_y=text_y,
        name_x=name_at[0],
        name_y=name_at[1],
        name_anchor=name_at[2],
        total_x=total_at[0],
        total_y=total_at[1],
        total_anchor=total_at[2],
    )
