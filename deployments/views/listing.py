"""The deployments list page, its htmx fragment and its exports.

Each view parses the query string (`forms.parse_list_request`), reads through
`queries.listing`, and renders. One view serves the page and the fragment: an htmx
request from the filter form gets `_table.html` alone; a boosted link, a history restore
or a plain request gets the whole page. Display values (times, durations, links) are
computed here once per row in plain Python: per-cell template filters and tags cost more
than the query (STYLE.md).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from ..display import format_duration, relative_time
from ..forms import (
    ACTIVE_CHOICES,
    ALL_TIME,
    ARCHIVED_CHOICES,
    ARCHIVED_HIDDEN,
    ARCHIVED_SHOWN,
    CUSTOM,
    PAGE_SIZES,
    PERIOD_CHOICES,
    ListRequest,
    parse_list_request,
    sort_choices,
)
from ..paths import deployment_path_parts, path
from ..queries import listing as list_queries
from ..queries.listing import (
    DEFAULT_ORDER,
    KNOWN_KINDS,
    KNOWN_STATUSES,
    SORT_KEYS,
    ListOrder,
    ListPage,
    count_matches,
    export_documents,
    export_rows,
    filter_choices,
    list_page,
    status_counts,
)

# Badge classes of the shared stylesheet; other values get a plain badge.
STATUS_CLASSES = {status: f"status-{status}" for status in KNOWN_STATUSES}
KIND_CLASSES = {kind: f"kind-{kind}" for kind in KNOWN_KINDS}
NO_VALUE = "—"
# The ids of the elements htmx requests replace: the results, and a search's count.
RESULTS_ELEMENT, COUNT_ELEMENT = "results", "result-count"


@login_required
@require_safe
def deployment_list(request: HttpRequest) -> HttpResponse:
    """The list; the results alone for the filter form's htmx requests, and the count
    alone for a text search's deferred count."""
    listing = parse_list_request(request.GET)
    part = _part(request)
    if part == COUNT_ELEMENT:
        context = _count_context(count_matches(listing.where))
        response = render(request, "deployments/_count.html", context)
    else:
        response = _list_response(request, listing, fragment=part == RESULTS_ELEMENT)
    # One URL, three bodies: caches must tell them apart.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _list_response(request: HttpRequest, listing: ListRequest, *, fragment: bool) -> HttpResponse:
    # The count comes with the rows (one statement), and says whether the scope is
    # small enough for status counts at all.
    page = list_page(
        listing.where,
        listing.order,
        size=listing.size,
        cursor=listing.cursor,
        defer_search_count=not listing.count_now,
    )
    context = _results_context(listing, page, status_counts(listing.where, page.count))
    if fragment:
        return render(request, "deployments/_table.html", context)
    return render(request, "deployments/list.html", {**context, **_form_context(listing)})


@login_required
@require_safe
def export_csv(request: HttpRequest) -> HttpResponse:
    """The filtered, sorted list as CSV, streamed a chunk at a time."""
    listing = parse_list_request(request.GET)
    if listing.errors:
        return _bad_export(listing)
    response = StreamingHttpResponse(_csv_lines(listing), content_type="text/csv; charset=utf-8")
    return _attachment(response, _filename(listing, "csv"))


@login_required
@require_safe
def export_json(request: HttpRequest) -> HttpResponse:
    """The filtered, sorted list as LaunchDarkly's `DeploymentCollectionRep`, with both
    expansions, streamed a chunk at a time."""
    listing = parse_list_request(request.GET)
    if listing.errors:
        return _bad_export(listing)
    response = StreamingHttpResponse(_json_parts(listing), content_type="application/json")
    return _attachment(response, _filename(listing, "json"))


def _part(request: HttpRequest) -> str | None:
    """Which part of the page a request wants: None (the whole page) for a plain
    request, a boosted link or a history restore; the count when htmx targets it; the
    results for any other htmx request (the filter form's)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return None
    return COUNT_ELEMENT if htmx.target == COUNT_ELEMENT else RESULTS_ELEMENT


# ---------------------------------------------------------------------------
# The results: what the fragment shows


def list_url(params: Iterable[tuple[str, str]] = ()) -> str:
    query = urlencode(list(params))
    base = path("deployments:list")
    return f"{base}?{query}" if query else base


def _count_context(count: int | None) -> dict[str, Any]:
    """The count as the page says it: "1,234", or "10,000+" past the cap."""
    if count is None:
        return {"count": None, "count_text": None}
    cap = list_queries.COUNT_CAP
    return {"count": min(count, cap), "count_text": f"{cap:,}+" if count > cap else f"{count:,}"}


def order_description(order: ListOrder) -> str:
    """How the order reads: "newest first", "duration, lowest first", ..."""
    if order.key.column == "started_at":
        return "newest first" if order.descending else "oldest first"
    return f"{order.key.label.lower()}, {'highest' if order.descending else 'lowest'} first"


def _results_context(
    listing: ListRequest, page: ListPage, counts: dict[str, int] | None
) -> dict[str, Any]:
    return {
        **_count_context(page.count),
        "count_url": list_url(listing.params()),
        "count_page_url": list_url(listing.params(count="1")),
        "listing": listing,
        "errors": listing.errors,
        "rows": display_rows(page.rows),
        "columns": _columns(listing),
        "order_text": order_description(listing.order),
        "statuses": _status_links(listing, counts) if counts else None,
        "filters": _active_filters(listing),
        "next_url": list_url(listing.params(cursor=page.next_cursor)) if page.next_cursor else None,
        "previous_url": list_url(listing.params(cursor=page.previous_cursor))
        if page.previous_cursor
        else None,
        "first_url": list_url(listing.params()) if listing.cursor else None,
        "clear_url": list_url(),
        "all_time_url": list_url(listing.params(period=ALL_TIME, **{"from": None, "to": None}))
        if listing.period != ALL_TIME
        else None,
        "show_archived_url": list_url(listing.params(archived=ARCHIVED_SHOWN))
        if listing.archived == ARCHIVED_HIDDEN
        else None,
        "csv_url": _export_url("deployments:export-csv", listing),
        "json_url": _export_url("deployments:export-json", listing),
    }


def _export_url(name: str, listing: ListRequest) -> str:
    query = urlencode(listing.params(size=None))
    return f"{path(name)}?{query}" if query else path(name)


# Columns of the table, in order: (label, sort key or None, numeric).
COLUMNS = (
    ("Application", None, False),
    ("Version", None, False),
    ("Environment", None, False),
    ("Status", None, False),
    ("Kind", None, False),
    ("Started", "started", False),
    ("Duration", "duration", True),
    ("Lead time", "lead_time", True),
    ("PRs", "prs", True),
    ("Lines", "lines", True),
    ("Flags", None, True),
    ("Markers", None, False),
)


def _columns(listing: ListRequest) -> list[dict[str, Any]]:
    """Table headers; a sortable one links to its order (the current one to the
    reverse), highest (or newest) first when not yet sorted by it."""
    headers = []
    for label, key_name, numeric in COLUMNS:
        header: dict[str, Any] = {"label": label, "numeric": numeric, "url": None}
        if key_name is not None:
            current = listing.order.key.name == key_name
            descending = not listing.order.descending if current else True
            order = ListOrder(SORT_KEYS[key_name], descending=descending)
            header["url"] = list_url(
                listing.params(sort=None if order == DEFAULT_ORDER else order.param)
            )
            if current:
                header["aria_sort"] = "descending" if listing.order.descending else "ascending"
                header["arrow"] = "▼" if listing.order.descending else "▲"
            header["title"] = f"Sort: {order_description(order)}"
        headers.append(header)
    return headers


def _status_links(listing: ListRequest, counts: dict[str, int]) -> list[dict[str, Any]]:
    selected = set(listing.where.statuses)
    return [
        {
            "status": status,
            "status_class": STATUS_CLASSES.get(status, "status-other"),
            "count": f"{count:,}",
            "selected": status in selected,
            # A selected status's link takes it out; another's narrows to it alone.
            "url": list_url(
                listing.params(status=tuple(selected - {status}))
                if status in selected
                else listing.params(status=(status,))
            ),
        }
        for status, count in counts.items()
    ]


def _active_filters(listing: ListRequest) -> list[dict[str, str]]:
    """What narrows the list, each with a link that removes just that filter."""
    where, filters = listing.where, []

    def add(text: str, **without: Any) -> None:
        filters.append({"text": text, "url": list_url(listing.params(**without))})

    if where.project_key:
        add(f"project {where.project_key}", project=None)
    if where.environment_key:
        add(f"environment {where.environment_key}", environment=None)
    for name, label, values in (
        ("application", "application", where.application_keys),
        ("status", "status", where.statuses),
        ("kind", "kind", where.kinds),
    ):
        for value in values:
            add(f"{label} {value}", **{name: tuple(v for v in values if v != value)})
    if where.active is not None:
        add("active" if where.active else "not active", active=None)
    if listing.archived != ARCHIVED_SHOWN:
        add(
            "archived hidden" if listing.archived == ARCHIVED_HIDDEN else "archived only",
            archived=ARCHIVED_SHOWN,
        )
    if listing.period == CUSTOM:
        add(_range_text(listing), **{"from": None, "to": None})
    elif listing.period != ALL_TIME:
        add(f"started {dict(PERIOD_CHOICES)[listing.period].lower()}", period=ALL_TIME)
    if where.search:
        add(f"matching “{where.search}”", q=None)
    return filters


def _range_text(listing: ListRequest) -> str:
    if listing.start and listing.end:
        return f"started {listing.start} to {listing.end}"
    if listing.start:
        return f"started on or after {listing.start}"
    return f"started on or before {listing.end}"


# ---------------------------------------------------------------------------
# Rows, ready to show


def display_rows(rows: list[dict[str, Any]], *, now: datetime | None = None) -> list[dict]:
    """The page's rows with every cell's text computed once, here, not in the template."""
    now = now or timezone.now()
    prefix, suffix = deployment_path_parts()
    zone = timezone.get_current_timezone()
    return [_display_row(row, now, zone, prefix, suffix) for row in rows]


def _display_row(row: dict, now: datetime, zone: Any, prefix: str, suffix: str) -> dict:
    started = row["started_at"].astimezone(zone)
    duration = row["duration_ms"]
    return {
        "url": f"{prefix}{row['id']}{suffix}",
        "application": row["application_key"],
        "version": row["application_version"],
        "project": row["project_key"],
        "environment": row["environment_key"],
        "status": row["status"],
        "status_class": STATUS_CLASSES.get(row["status"], "status-other"),
        "kind": row["kind"],
        "kind_class": KIND_CLASSES.get(row["kind"], "kind-other"),
        "started_iso": started.isoformat(timespec="seconds"),
        "started_text": started.strftime("%Y-%m-%d %H:%M"),
        "started_title": started.strftime("%A %d %B %Y, %H:%M:%S %Z"),
        "started_relative": relative_time(now - row["started_at"]),
        "duration": format_duration(duration) if duration is not None else NO_VALUE,
        "running": duration is None,
        "lead_time": format_duration(row["lead_time_ms"]) if row["lead_time_ms"] else NO_VALUE,
        "prs": f"{row['number_of_pull_requests']:,}",
        "lines_added": f"+{row['lines_added']:,}",
        "lines_deleted": f"−{row['lines_deleted']:,}",
        "flags": (
            f"+{row['flags_added']:,} −{row['flags_removed']:,}"
            if row["flags_added"] or row["flags_removed"]
            else NO_VALUE
        ),
        "active": row["active"],
        "archived": row["archived"],
    }


# ---------------------------------------------------------------------------
# The filter form (the whole page only)


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool


def _options(
    values: Iterable[str],
    selected: Iterable[str],
    labels: dict[str, str] | None = None,
    *,
    keep_missing: bool = True,
) -> list[Option]:
    """Options for a select or checkboxes. A selected value missing from `values` (typed
    into the URL, or newer than the cached choices) is kept unless told otherwise, so
    nothing typed is lost."""
    chosen = list(dict.fromkeys(selected))
    values = list(values)
    if keep_missing:
        values += [value for value in chosen if value and value not in values]
    labels = labels or {}
    return [Option(v, labels.get(v, v), v in chosen) for v in dict.fromkeys(values)]


def _form_context(listing: ListRequest) -> dict[str, Any]:
    form, choices = listing.form, filter_choices()
    raw = form.data

    def one(name: str) -> list[str]:
        return [str(raw.get(name, ""))]

    # Every project's applications, grouped: the form's htmx requests replace only the
    # results, so the choices must not depend on the project chosen.
    applications = [
        (project, _options(apps, raw.getlist("application"), keep_missing=False))
        for project, apps in choices.applications
    ]
    known_apps = {app for _, apps in choices.applications for app in apps}
    unknown = [app for app in raw.getlist("application") if app and app not in known_apps]
    if unknown:
        applications.append(("Other", _options(unknown, unknown)))
    return {
        "form": form,
        **_panel_context(listing),
        "project_options": _options(("", *choices.projects), one("project"), {"": "All"}),
        "environment_options": _options(
            ("", *choices.environments), one("environment"), {"": "All"}
        ),
        "application_groups": applications,
        "status_options": _options(KNOWN_STATUSES, raw.getlist("status")),
        "kind_options": _options(KNOWN_KINDS, raw.getlist("kind")),
        "active_options": _choice_options(ACTIVE_CHOICES, one("active")),
        "archived_options": _choice_options(ARCHIVED_CHOICES, [listing.archived]),
        "period_options": _choice_options(PERIOD_CHOICES, [listing.period]),
        "sort_options": _choice_options(sort_choices(), [listing.order.param]),
        "size_options": [Option(str(s), str(s), s == listing.size) for s in PAGE_SIZES],
    }


def _panel_context(listing: ListRequest) -> dict[str, Any]:
    """Whether the filter panel (everything but the search) starts open: when the request
    sets any of its fields, or has an error, so that without JavaScript what is in use shows
    (a script then opens it on wide screens and closes it on phones); and how many of its
    fields are in use, for its summary."""
    in_use = {name for name, _ in listing.params() if name not in ("q", "cursor")}
    return {"panel_open": bool(in_use or listing.errors), "panel_count": len(in_use)}


def _choice_options(choices: Iterable[tuple[str, str]], selected: list[str]) -> list[Option]:
    return [Option(value, label, value in selected) for value, label in choices]


# ---------------------------------------------------------------------------
# Exports

# The CSV: a header row, then a row per deployment in the list's filter and order. Times
# are ISO 8601 in the organisation's timezone with its offset, to the millisecond
# (`2026-11-27T14:05:22.313+01:00`: unambiguous, and spreadsheets read it); durations and
# lead time are integer milliseconds, as LaunchDarkly gives them; booleans are
# true/false; an open deployment's end and duration are empty. The JSON export carries
# epoch milliseconds, LaunchDarkly's own form.
CSV_HEADER = (
    "id",
    "project",
    "environment",
    "application",
    "version",
    "status",
    "kind",
    "active",
    "archived",
    "started_at",
    "ended_at",
    "duration_ms",
    "lead_time_ms",
    "contributors",
    "pull_requests",
    "lines_added",
    "lines_deleted",
    "flag_references_added",
    "flag_references_removed",
)
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like object whose write returns the line: csv.writer then yields lines."""

    def write(self, text: str) -> str:
        return text


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell, defused: text that a spreadsheet would run as a formula
    gets a leading apostrophe (OWASP's advice); numbers stay numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="milliseconds")
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return "" if value is None else value


def _csv_lines(listing: ListRequest) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_HEADER)
    for rows in export_rows(listing.where, listing.order):
        for row in rows:
            yield writer.writerow(
                [
                    csv_cell(value)
                    for value in (
                        str(row["id"]),
                        row["project_key"],
                        row["environment_key"],
                        row["application_key"],
                        row["application_version"],
                        row["status"],
                        row["kind"],
                        row["active"],
                        row["archived"],
                        row["started_at"],
                        row["ended_at"],
                        row["duration_ms"],
                        row["lead_time_ms"],
                        row["number_of_contributors"],
                        row["number_of_pull_requests"],
                        row["lines_added"],
                        row["lines_deleted"],
                        row["flags_added"],
                        row["flags_removed"],
                    )
                ]
            )


def _json_parts(listing: ListRequest) -> Iterator[str]:
    """A `DeploymentCollectionRep`, an item at a time; `totalCount` comes last, as the
    number of items written (a count taken first could disagree with them)."""
    yield '{"items": ['
    written = 0
    for documents in export_documents(listing.where, listing.order):
        for document in documents:
            yield ("," if written else "") + "\n" + json.dumps(document, allow_nan=False)
            written += 1
    yield f'\n], "totalCount": {written}}}\n'


def _filename(listing: ListRequest, extension: str) -> str:
    """`deployments-payments-production-20261127-1405.csv`: scope and local time."""
    scope = [
        slugify(key)[:40] for key in (listing.where.project_key, listing.where.environment_key)
    ]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return "-".join(["deployments", *(part for part in scope if part), stamp]) + f".{extension}"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _bad_export(listing: ListRequest) -> HttpResponse:
    lines = [f"{label}: {message}" for label, message in listing.errors]
    return HttpResponse(
        "The export was not made; fix these and try again:\n" + "\n".join(lines) + "\n",
        status=400,
        content_type="text/plain; charset=utf-8",
    )
