"""The deployments list's rows as HTML made here: `{% deployment_rows rows %}` inside
the table's `<tbody>`.

Drawn by the template engine, a row's twenty variables and `if`s cost about 80 µs:
a 25-row page spent 2 ms there, an eighth of the whole request at 100,000 deployments;
formatted here, each value escaped once, the rows take a fifth of that (the detail
page's long tables do the same, in `detail_rows`). Each row's markup lives in this
module only.

Every value from a row goes through `escape` (the standard library's, which Django's
own `escape` wraps: the same text), so nothing from the database reaches the page
unescaped. The rows are `views.listing.display_rows`'s: every value already a string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ROW = (
    '<tr><td class="application"><a href="{url}">{application}</a></td>'
    '<td class="version">{version}</td>'
    '<td class="environment">{environment} <span class="muted">{project}</span></td>'
    '<td><span class="badge {status_class}">{status}</span></td>'
    '<td><span class="badge {kind_class}">{kind}</span></td>'
    '<td class="started"><time datetime="{started_iso}" title="{started_title}">'
    '{started_relative}</time> <span class="muted">{started_text}</span></td>'
    '<td class="num"{running}>{duration}</td>'
    '<td class="num">{lead_time}</td>'
    '<td class="num">{prs}</td>'
    '<td class="num"><span class="added">{lines_added}</span>'
    ' <span class="deleted">{lines_deleted}</span></td>'
    '<td class="num">{flags}</td>'
    "<td>{markers}</td></tr>"
)
RUNNING = ' title="Still running"'
ACTIVE = (
    '<span class="badge flag-active" title="The latest finished deployment of this'
    ' application here">active</span>'
)
ARCHIVED = '<span class="badge flag-archived">archived</span>'
ROW_SEPARATOR = "\n    "  # as the template's own rows are indented
# The values that are text to show; the rest (`running`, `active`, `archived`) say which
# fixed markup a row gets.
TEXT_FIELDS = (
    "url",
    "application",
    "version",
    "environment",
    "project",
    "status_class",
    "status",
    "kind_class",
    "kind",
    "started_iso",
    "started_title",
    "started_relative",
    "started_text",
    "duration",
    "lead_time",
    "prs",
    "lines_added",
    "lines_deleted",
    "flags",
)


@register.simple_tag
def deployment_rows(rows: Iterable[Mapping[str, Any]]) -> SafeString:
    """The `<tr>` of each list row, in order."""
    return mark_safe(ROW_SEPARATOR.join(_row(row) for row in rows))


def _row(row: Mapping[str, Any]) -> str:
    markers = " ".join(
        marker for marker, shown in ((ACTIVE, row["active"]), (ARCHIVED, row["archived"])) if shown
    )
    return ROW.format(
        **{name: escape(row[name]) for name in TEXT_FIELDS},
        running=RUNNING if row["running"] else "",
        markers=markers,
    )
