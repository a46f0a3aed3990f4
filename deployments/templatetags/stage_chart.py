"""The detail page's lead-time stage chart as SVG markup made here: `{% stage_chart %}`.

deployments/charts.py decides every number; this module only writes them out. Drawn by
the template engine, the chart's two layouts (wide and narrow, both in the page, one
shown by detail.css) took about 170 variable lookups: 0.5 ms of the page; written here,
under 0.1 ms. Every text in the drawing goes through `escape`; the numbers are the
chart's own integers and floats (written as the template wrote them, `20.0`).
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from ..charts import Bar, StageChart

register = template.Library()

TITLE = "Lead-time stages of this deployment{beside}: coding, review, wait and deploy"
BESIDE_MEDIAN = " beside the application's median"
# Indented as the template around it, so that the page reads as before.
SVG = (
    '<svg class="chart-{layout}" role="img" aria-labelledby="stage-chart-title-{layout}"'
    ' viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet">\n'
    '      <title id="stage-chart-title-{layout}">{title}</title>\n'
    "{bars}"
    "    </svg>"
)
BAR = (
    '      <g class="bar {kind}">\n'
    '        <text class="row-label" x="{name_x}" y="{name_y}" text-anchor="{name_anchor}"'
    ' dominant-baseline="central">{name}</text>\n'
    "{segments}"
    '        <text class="total" x="{total_x}" y="{total_y}" text-anchor="{total_anchor}"'
    ' dominant-baseline="central"><title>{title}</title>{total_label}</text>\n'
    "      </g>\n"
)
SEGMENT = (
    '        <g class="segment stage-{stage}"><title>{title}</title>'
    '<rect x="{x}" y="{y}" width="{width}" height="{height}"></rect>{label}</g>\n'
)
LABEL = '<text x="{x}" y="{y}" text-anchor="middle" dominant-baseline="central">{label}</text>'


@register.simple_tag
def stage_chart(chart: StageChart) -> SafeString:
    """The `<svg>` of one layout of the chart: the first bar is this deployment's, a
    second the median's (and the title says so)."""
    bars = "".join(
        _bar(bar, "bar-own" if index == 0 else "bar-median", chart.bar_height)
        for index, bar in enumerate(chart.bars)
    )
    title = TITLE.format(beside=BESIDE_MEDIAN if len(chart.bars) > 1 else "")
    return mark_safe(
        SVG.format(
            layout=escape(chart.layout),
            width=chart.width,
            height=chart.height,
            title=escape(title),
            bars=bars,
        )
    )


def _bar(bar: Bar, kind: str, bar_height: int) -> str:
    segments = "".join(
        SEGMENT.format(
            stage=escape(segment.stage),
            title=escape(segment.title),
            x=segment.x,
            y=bar.y,
            width=segment.width,
            height=bar_height,
            label=LABEL.format(x=segment.label_x, y=bar.text_y, label=escape(segment.label))
            if segment.label
            else "",
        )
        for segment in bar.drawn_segments
    )
    return BAR.format(
        kind=kind,
        name_x=bar.name_x,
        name_y=bar.name_y,
        name_anchor=escape(bar.name_anchor),
        name=escape(bar.name),
        segments=segments,
        total_x=bar.total_x,
        total_y=bar.total_y,
        total_anchor=escape(bar.total_anchor),
        title=escape(bar.title),
        total_label=escape(bar.total_label),
    )
