"""The stage chart's geometry and the duration text it shows (deployments/charts.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deployments import charts
from deployments.charts import NARROW, WIDE, apportion, stage_chart, stage_charts
from deployments.display import HOUR_MS, MINUTE_MS, format_duration


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [
        (None, "—"),
        (0, "0 ms"),
        (999, "999 ms"),
        (1000, "1s"),
        (59_999, "59s"),
        (60_000, "1m"),
        (61_000, "1m 1s"),
        (3_599_999, "59m 59s"),
        (HOUR_MS, "1h"),
        (HOUR_MS + MINUTE_MS, "1h 1m"),
        (HOUR_MS + 59 * MINUTE_MS + 59_999, "1h 59m"),
        (24 * HOUR_MS, "1d"),
        (25 * HOUR_MS + 59 * MINUTE_MS, "1d 1h"),
        (400 * 24 * HOUR_MS, "400d"),
        (-5000, "−5s"),
    ],
)
def test_durations_read_as_their_two_largest_units_truncated(milliseconds, text):
    assert format_duration(milliseconds) == text


def test_exact_durations_add_the_milliseconds():
    assert charts.exact_duration(6_000_000) == "1h 40m (6,000,000 ms)"
    assert charts.exact_duration(None) == "unknown"


def test_apportion_splits_a_width_in_proportion():
    assert apportion([4, 2, 1, 1], 480) == [240, 120, 60, 60]


def test_apportion_gives_left_over_pixels_to_the_largest_remainders():
    # Shares 33.3, 33.3, 33.3: one pixel is left over and goes to the first.
    assert apportion([1, 1, 1], 100) == [34, 33, 33]
    # Shares 2.5, 7.5: floors 2 and 7; the tie on the remainder goes to the first.
    assert apportion([1, 3], 10) == [3, 7]
    # Shares 0.6, 0.6, 8.8: floors 0, 0, 8; the two left over go to the .8, then the
    # first .6.
    assert apportion([6, 6, 88], 10) == [1, 0, 9]


def test_apportion_gives_zero_durations_zero_width():
    assert apportion([0, 5, 0, 5], 101) == [0, 51, 0, 50]


def test_apportion_treats_negative_durations_as_zero():
    assert apportion([-100, 1, 1], 10) == [0, 5, 5]


def test_apportion_of_nothing_is_all_zeros():
    assert apportion([0, 0, 0, 0], 480) == [0, 0, 0, 0]
    assert apportion([3, 4], 0) == [0, 0]
    assert apportion([], 480) == []


@given(
    values=st.lists(st.integers(min_value=0, max_value=10**15), min_size=1, max_size=6),
    width=st.integers(min_value=0, max_value=2000),
)
def test_apportioned_widths_add_up_exactly_and_stay_within_a_pixel(values, width):
    widths = apportion(values, width)

    total = sum(values)
    if total == 0:
        assert widths == [0] * len(values)
        return
    assert sum(widths) == width
    for value, got in zip(values, widths, strict=True):
        assert abs(got - value * width / total) < 1


def stages(coding, review, wait, deploy):
    return {"coding": coding, "review": review, "wait": wait, "deploy": deploy}


def test_the_longest_bar_spans_the_bar_area_and_the_other_is_on_the_same_scale():
    chart = stage_chart(
        [
            ("This deployment", stages(4 * HOUR_MS, 2 * HOUR_MS, HOUR_MS, HOUR_MS)),
            ("Median", stages(2 * HOUR_MS, HOUR_MS, HOUR_MS, 0)),
        ]
    )

    own, median = chart.bars
    assert own.width == WIDE.bar_width
    assert [s.width for s in own.segments] == [240, 120, 60, 60]
    assert median.width == 240  # 4h of 8h
    assert [s.width for s in median.segments] == [120, 60, 60, 0]
    assert own.total_ms == 8 * HOUR_MS and own.total_label == "8h"


def test_segments_follow_each_other_from_the_bar_start():
    chart = stage_chart([("This deployment", stages(3, 5, 7, 11))])

    (bar,) = chart.bars
    x = WIDE.bar_x
    for segment in bar.segments:
        assert segment.x == x
        x += segment.width
    assert x == WIDE.bar_x + bar.width == WIDE.bar_x + WIDE.bar_width
    # The name ends left of the bar; the total starts just after its end, and fits.
    assert (bar.name_x, bar.name_anchor) == (WIDE.label_width, "end") and bar.name_x < x
    assert (bar.total_x, bar.total_anchor) == (x + WIDE.total_gap, "start")
    assert chart.width >= bar.total_x + len(bar.total_label) * charts.CHAR_WIDTH
    assert bar.name_y == bar.total_y == bar.text_y == bar.y + charts.BAR_HEIGHT / 2


def test_a_zero_duration_stage_is_kept_but_not_drawn():
    chart = stage_chart([("This deployment", stages(HOUR_MS, 0, HOUR_MS, HOUR_MS))])

    (bar,) = chart.bars
    assert [s.stage for s in bar.segments] == ["coding", "review", "wait", "deploy"]
    assert bar.segments[1].width == 0
    assert [s.stage for s in bar.drawn_segments] == ["coding", "wait", "deploy"]
    assert sum(s.width for s in bar.drawn_segments) == WIDE.bar_width


def test_all_zero_stages_draw_nothing():
    chart = stage_chart([("This deployment", stages(0, 0, 0, 0)), ("Median", stages(0, 0, 0, 0))])

    assert [bar.width for bar in chart.bars] == [0, 0]
    assert all(not bar.drawn_segments for bar in chart.bars)


def test_segments_carry_their_stage_names_and_exact_values():
    chart = stage_chart([("Median", stages(6_000_000, 500_000, 100_000, 100_000))])

    coding, review, wait, deploy = chart.bars[0].segments
    assert coding.name == "Coding" and coding.label == "Coding 1h 40m"
    assert coding.title == "Median, coding: 1h 40m (6,000,000 ms)"
    assert deploy.title == "Median, deploy: 1m 40s (100,000 ms)"
    assert chart.bars[0].title == "Median, the four stages together: 1h 51m (6,700,000 ms)"


def test_labels_shrink_to_what_fits_in_a_segment():
    candidates = ("Coding 1h 40m", "Coding", "C")

    assert charts.fitting_label(candidates, 200) == "Coding 1h 40m"
    assert charts.fitting_label(candidates, 6 * charts.CHAR_WIDTH + 2 * charts.LABEL_PADDING) == (
        "Coding"
    )
    assert charts.fitting_label(candidates, 20) == "C"
    assert charts.fitting_label(candidates, 10) == ""


def test_widths_are_rounded_to_whole_units_on_the_shared_scale():
    # 1/3 of the longest bar is 160 units; 2/3 is 320.
    chart = stage_chart(
        [("A", stages(1, 1, 1, 0)), ("B", stages(1, 0, 0, 0)), ("C", stages(1, 1, 0, 0))]
    )

    assert [bar.width for bar in chart.bars] == [480, 160, 320]
    assert all(isinstance(s.width, int) for bar in chart.bars for s in bar.segments)
    assert [bar.y for bar in chart.bars] == sorted(bar.y for bar in chart.bars)


# Half the chart's 12px text: how far a line of text reaches above and below its middle.
HALF_TEXT = 6


def test_the_narrow_layout_puts_names_and_totals_above_bars_as_wide_as_a_phone():
    rows = [
        ("This deployment", stages(4 * HOUR_MS, 2 * HOUR_MS, HOUR_MS, HOUR_MS)),
        ("Median", stages(2 * HOUR_MS, HOUR_MS, HOUR_MS, 0)),
    ]

    chart = stage_chart(rows, NARROW)

    assert chart.layout == "narrow" and chart.width == 340
    own, median = chart.bars
    assert own.width == NARROW.bar_width
    assert [s.width for s in own.segments] == [169, 85, 42, 42]
    assert median.width == 169  # 4h of 8h: half of 338
    for bar in chart.bars:
        # The name starts at the bar's left edge and the total ends at its right edge,
        # on a line of their own above the bar, and both fit on that line.
        assert (bar.name_x, bar.name_anchor) == (NARROW.bar_x, "start")
        assert (bar.total_x, bar.total_anchor) == (NARROW.bar_x + NARROW.bar_width, "end")
        assert bar.name_y == bar.total_y
        assert bar.name_y + HALF_TEXT < bar.y
        width_of = (len(bar.name) + 1 + len(bar.total_label)) * charts.CHAR_WIDTH
        assert width_of < NARROW.bar_width
        assert bar.segments[0].x == NARROW.bar_x
    # Rows do not overlap, and the drawing holds the first line and the last bar.
    assert own.name_y - HALF_TEXT >= 0
    assert median.name_y - HALF_TEXT > own.y + charts.BAR_HEIGHT
    assert chart.height >= median.y + charts.BAR_HEIGHT


def test_every_layout_draws_the_same_rows_with_the_same_stages_and_titles():
    rows = [("This deployment", stages(HOUR_MS, 0, 30 * MINUTE_MS, MINUTE_MS))]

    wide, narrow = stage_charts(rows)

    assert (wide.layout, narrow.layout) == ("wide", "narrow")
    for chart in (wide, narrow):
        (bar,) = chart.bars
        assert [s.stage for s in bar.drawn_segments] == ["coding", "wait", "deploy"]
        assert [s.title for s in bar.segments] == [s.title for s in wide.bars[0].segments]
        assert bar.total_label == "1h 31m"
        # A label is drawn only where it fits in its segment.
        for segment in bar.drawn_segments:
            label_width = len(segment.label) * charts.CHAR_WIDTH + 2 * charts.LABEL_PADDING
            assert not segment.label or label_width <= segment.width
    # The narrow bar is shorter, so its labels are never longer than the wide one's.
    for wide_segment, narrow_segment in zip(
        wide.bars[0].segments, narrow.bars[0].segments, strict=True
    ):
        assert len(narrow_segment.label) <= len(wide_segment.label)
