"""The detail page's long tables: their rows as HTML made here, one tag per table.

A deployment can ship hundreds of pull requests. Drawn by the template engine, each
pull-request row's twenty-odd variables, `if`s and escapes cost about 35 µs: the
50-row table took 2.4 ms, a sixth of the page at 100,000 deployments; formatted here,
each value escaped once, it takes 0.6 ms. The templates keep the tables around the rows
(`{% pull_request_rows pull_requests %}` inside `<tbody>`); each row's markup is in this
module only, and reads byte for byte as the template's did.

Every value from a row goes through `escape` (the standard library's, which Django's
own `escape` wraps: the same text), so nothing from the database reaches the page
unescaped; a cell made of markup is assembled here from escaped parts. Every value is
already a string (queries.detail formats numbers and moments), as `escape` needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

PULL_REQUEST_ROW = (
    "<tr><td>{number}</td><td>{title}</td><td>{author}</td><td>{status}</td>"
    "<td>{created}</td><td>{merged}</td>"
    '<td class="num">{files}</td>'
    '<td class="num"><span class="added">+{lines_added}</span>'
    ' <span class="deleted">−{lines_deleted}</span></td>'
    '<td class="num" title="{total_exact}">{total}</td>'
    '<td class="num">{coding}</td><td class="num">{review}</td>'
    '<td class="num">{wait}</td><td class="num">{deploy}</td></tr>'
)
LINK = '<a href="{href}" rel="noreferrer">#{number}</a>'
# A URL that may not be a link (see queries.detail.safe_link) shows as a tooltip.
NOT_A_LINK = '<span title="{url}">#{number}</span>'
TIME = '<time datetime="{iso}">{text}</time>'
ROW_SEPARATOR = "\n      "  # as the template's own rows are indented

FLAG_ROW = (
    "<tr><td><code>{flag_key}</code></td><td>{project_key}</td>"
    '<td class="num added">+{added}</td><td class="num deleted">−{removed}</td></tr>'
)


@register.simple_tag
def pull_request_rows(pull_requests: Iterable[Mapping[str, Any]]) -> SafeString:
    """The `<tr>` of each pull request (queries.detail's display rows), in order."""
    return mark_safe(ROW_SEPARATOR.join(_pull_request_row(pr) for pr in pull_requests))


def _pull_request_row(pr: Mapping[str, Any]) -> str:
    number = escape(pr["number"])
    if pr["href"] is not None:
        cell = LINK.format(href=escape(pr["href"]), number=number)
    else:
        cell = NOT_A_LINK.format(url=escape(pr["url"]), number=number)
    merged = pr["merged"]
    return PULL_REQUEST_ROW.format(
        number=cell,
        title=escape(pr["title"]),
        author=escape(pr["author"]),
        status=escape(pr["status"]),
        created=_time(pr["created"]),
        merged="—" if merged is None else _time(merged),
        files=escape(pr["files"]),
        lines_added=escape(pr["lines_added"]),
        lines_deleted=escape(pr["lines_deleted"]),
        total_exact=escape(pr["total_exact"]),
        total=escape(pr["total"]),
        coding=escape(pr["coding"]),
        review=escape(pr["review"]),
        wait=escape(pr["wait"]),
        deploy=escape(pr["deploy"]),
    )


def _time(moment: Mapping[str, str]) -> str:
    return TIME.format(iso=escape(moment["iso"]), text=escape(moment["text"]))


@register.simple_tag
def flag_reference_rows(flag_references: Iterable[Mapping[str, str]]) -> SafeString:
    """The `<tr>` of each flag reference (queries.detail's display rows), in order."""
    return mark_safe(
        ROW_SEPARATOR.join(
            FLAG_ROW.format(
                flag_key=escape(flag["flag_key"]),
                project_key=escape(flag["project_key"]),
                added=escape(flag["added"]),
                removed=escape(flag["removed"]),
            )
            for flag in flag_references
        )
    )
