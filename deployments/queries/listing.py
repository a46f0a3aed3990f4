"""The deployments list page's read path: filters, sorts, keyset pages, capped counts.

One `ListFilter` and one `ListOrder` describe what the page shows; the page, its htmx
fragment, and the CSV and JSON exports all read through `matching` and the keyset here,
so an export is exactly the filtered, sorted view, only without its pages.

Measured habits (STYLE.md): pages move by keyset, never OFFSET; counts stop at
`COUNT_CAP + 1` rows; flag-reference sums are correlated subqueries for the page's rows
only; text search is subqueries (semi-joins or EXISTS, whichever `plan_search` finds
cheaper for the term; never a join with DISTINCT); filter choices and status counts are
cached for a minute.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Exists,
    F,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.lookups import IsNull

from ..models import Deployment, DeploymentPullRequest, FlagReference, PullRequest
from ..representation import EXPANDABLE
from . import DEPLOYMENT_COLUMNS, deployment_documents, raw

# Counting stops here: past it the page says "10,000+" (a full COUNT(*) of a big scope is
# one of the two slow parts of Django admin's changelist).
COUNT_CAP = 10_000
# Status counts are shown when the scope they count holds at most this many rows: reading
# 2,000 statuses cost about 1.5 ms on SQLite at 100,000 deployments.
FACET_LIMIT = 2_000
CHOICES_CACHE_KEY = "deployments:list:choices"
FACETS_CACHE_PREFIX = "deployments:list:statuses:"
SEARCH_COUNT_CACHE_PREFIX = "deployments:list:search-count:"
# Choices, status counts and a text search's count are cached this long.
CHOICES_CACHE_SECONDS = 60
EXPORT_CHUNK_SIZE = 500
# The statuses and kinds LaunchDarkly sends in practice (both are free strings upstream).
KNOWN_STATUSES = ("started", "finished", "failed")
KNOWN_KINDS = ("forward", "redeployment", "rollback")

# What a list row reads: the columns the page and the CSV show, and the computed sums.
ROW_COLUMNS = (
    "id",
    "project_key",
    "environment_key",
    "application_key",
    "application_version",
    "status",
    "kind",
    "active",
    "archived",
    "started_at",
    "ended_at",
    "duration_ms",
    "lead_time_ms",
    "number_of_contributors",
    "number_of_pull_requests",
    "lines_added",
    "lines_deleted",
)


class CursorError(ValueError):
    """A page cursor that is not one this page made (garbled, tampered or out of date)."""


# ---------------------------------------------------------------------------
# What the list shows


@dataclass(frozen=True)
class ListFilter:
    """Which deployments the list shows. Empty values filter nothing."""

    project_key: str = ""
    environment_key: str = ""
    application_keys: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    active: bool | None = None
    archived: bool | None = False  # None: archived or not
    started_from: datetime | None = None  # inclusive
    started_before: datetime | None = None  # exclusive
    search: str = ""


@dataclass(frozen=True)
class SortKey:
    name: str  # as the URL says it: `sort=duration` or `sort=-duration`
    label: str
    column: str  # a column or an annotation of `matching`'s queryset
    nullable: bool = False


SORT_KEYS = {
    key.name: key
    for key in (
        SortKey("started", "Started", "started_at"),
        # Open deployments have no duration: they come last in either direction.
        SortKey("duration", "Duration", "duration_ms", nullable=True),
        SortKey("lead_time", "Lead time", "lead_time_ms"),
        SortKey("lines", "Lines changed", "lines_changed"),
        SortKey("prs", "Pull requests", "number_of_pull_requests"),
    )
}


@dataclass(frozen=True)
class ListOrder:
    key: SortKey
    descending: bool = True

    @classmethod
    def parse(cls, text: str) -> ListOrder:
        """`-started` (newest first), `duration`, ...; raises KeyError for an unknown key."""
        return cls(SORT_KEYS[text.removeprefix("-")], descending=text.startswith("-"))

    @property
    def param(self) -> str:
        return f"-{self.key.name}" if self.descending else self.key.name


DEFAULT_ORDER = ListOrder(SORT_KEYS["started"], descending=True)


LINES_CHANGED = F("lines_added") + F("lines_deleted")


def matching(
    where: ListFilter, *, search: SearchShape | None = None, order: ListOrder | None = None
) -> QuerySet[Deployment]:
    """Every deployment the filter lets through, unordered; `search` says how to phrase
    the text search (see `plan_search`), and an `order` by lines changed brings the
    `lines_changed` it sorts on.

    One `filter()` of every condition, and the annotation only where it is sorted on:
    each clone and each expression is ORM work on every request, and the page builds
    this queryset three times.
    """
    conditions: dict[str, Any] = {
        name: value
        for name, value in (
            ("project_key", where.project_key),
            ("environment_key", where.environment_key),
            ("application_key__in", where.application_keys),
            ("status__in", where.statuses),
            ("kind__in", where.kinds),
        )
        if value
    }
    for name, value in (
        ("active", where.active),
        ("archived", where.archived),
        ("started_at__gte", where.started_from),
        ("started_at__lt", where.started_before),
    ):
        if value is not None:
            conditions[name] = value
    text = (search_condition(where.search, search or SearchShape()),) if where.search else ()
    queryset = Deployment.objects.filter(*text, **conditions)
    if order is not None and order.key.column == "lines_changed":
        queryset = queryset.annotate(lines_changed=LINES_CHANGED)
    return queryset.order_by()


PR_NUMBER = re.compile(r"#\s*(\w[\w-]*)")
# From this many matching pull requests on, a search is "broad" (see `plan_search`).
BROAD_SEARCH = 500


@dataclass(frozen=True)
class SearchShape:
    """How a text search is phrased in SQL (the rows it matches are the same)."""

    # EXISTS per deployment rather than semi-joins: for a page read in index order.
    correlated: bool = False
    # The pull requests that match, when `plan_search` found them to be few.
    pull_request_ids: tuple[uuid.UUID, ...] | None = None


def plan_search(text: str, *, ordered_by_start: bool = True) -> SearchShape:
    """The cheapest shape for searching `text`, from one query that reads at most
    BROAD_SEARCH matching pull requests.

    Measured on SQLite over the 4-week default at 100,000 deployments: semi-joins by
    subquery cost about the same whatever the page (the statement expands every
    matching pull request to its deployments: 25 ms for a rare term, 90 ms for "retry",
    which 7,119 pull requests match), and scanning the titles is most of it for a rare
    term, so the probe's ids are reused. Correlated EXISTS read newest first stop at the
    page's last match: 2 ms for "retry", but all 4 weeks (60-90 ms) for a rare term.
    """
    if not text or PR_NUMBER.fullmatch(text):
        return SearchShape()
    ids = tuple(
        PullRequest.objects.filter(pull_request_matches(text))
        .order_by()
        .values_list("id", flat=True)[:BROAD_SEARCH]
    )
    if len(ids) < BROAD_SEARCH:
        return SearchShape(pull_request_ids=ids)
    return SearchShape(correlated=ordered_by_start)


def search_condition(text: str, shape: SearchShape) -> Q:
    """Deployments whose application, version, pull request (title, number, author) or
    flag key contains `text`, case-insensitively; "1234" also finds pull request 1234,
    and "#1234" finds only that pull request.

    No form joins or needs DISTINCT: relations are semi-joins (`id IN (subquery)`, each
    subquery run once per statement) or, with `shape.correlated`, `EXISTS` per
    deployment. On PostgreSQL, trigram indexes (migration 0008) serve the LIKEs.
    """
    number = PR_NUMBER.fullmatch(text)
    if number:
        pull_requests = PullRequest.objects.filter(external_id=number.group(1))
        return Q(id__in=_deployments_of(pull_requests.values("id")))
    own = Q(application_key__icontains=text) | Q(application_version__icontains=text)
    if shape.correlated:
        shipped = DeploymentPullRequest.objects.filter(
            pull_request_matches(text, prefix="pull_request__"), deployment_id=OuterRef("pk")
        )
        flagged = FlagReference.objects.filter(
            deployment_id=OuterRef("pk"), flag_key__icontains=text
        )
        return own | Exists(_per_row(shipped)) | Exists(_per_row(flagged))
    if shape.pull_request_ids is None:
        pull_requests = PullRequest.objects.filter(pull_request_matches(text)).values("id")
        own |= Q(id__in=_deployments_of(pull_requests))
    elif shape.pull_request_ids:
        own |= Q(id__in=_deployments_of(shape.pull_request_ids))
    flagged_ids = FlagReference.objects.filter(flag_key__icontains=text)
    return own | Q(id__in=flagged_ids.values("deployment_id"))


def _per_row(subquery: QuerySet) -> QuerySet:
    """`subquery` with a condition on the outer row that is not an equality, which is
    always true but keeps PostgreSQL from rewriting the EXISTS as a hashed subplan over
    every match (it did, for "retry": 90 ms, expanding 7,119 pull requests). Read per
    row, the page stopped after 198 rows: 4 ms."""
    return subquery.filter(IsNull(OuterRef("started_at"), False))


def pull_request_matches(text: str, *, prefix: str = "") -> Q:
    """Pull requests (or, with a prefix, rows that point at one) whose title or author
    contains `text`, or whose number is `text`."""
    return (
        Q(**{f"{prefix}title__icontains": text})
        | Q(**{f"{prefix}author__icontains": text})
        | Q(**{f"{prefix}external_id": text})
    )


def _deployments_of(pull_requests: Any) -> QuerySet[DeploymentPullRequest]:
    return DeploymentPullRequest.objects.filter(pull_request_id__in=pull_requests).values(
        "deployment_id"
    )


# ---------------------------------------------------------------------------
# Cursors: where a page starts, as an opaque URL-safe string


@dataclass(frozen=True)
class Cursor:
    """A position in one order: the sort value and id of a row, and which way to read."""

    order: str  # the order's URL form; a cursor only means something in its own order
    value: datetime | int | None
    id: uuid.UUID
    backwards: bool = False  # the page of rows before the position, not after it
    # The count the first page found, carried along so that later pages need not count
    # again.
    count: int | None = None

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        payload = {"o": self.order, "v": value, "i": str(self.id), "b": int(self.backwards)}
        if self.count is not None:
            payload["n"] = self.count
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR_LENGTH = 400
CURSOR_KEYS = {"o", "v", "i", "b", "n"}


def decode_cursor(text: str, order: ListOrder) -> Cursor:
    """The cursor `text` encodes, if it is one of `order`'s; raises CursorError."""
    if len(text) > MAX_CURSOR_LENGTH:
        raise CursorError("too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError) as error:
        raise CursorError("not a cursor") from error
    if not isinstance(payload, dict) or not {"o", "v", "i", "b"} <= set(payload) <= CURSOR_KEYS:
        raise CursorError("not a cursor")
    if payload["o"] != order.param:
        raise CursorError("made for another sort order")
    if payload["b"] not in (0, 1) or not isinstance(payload["i"], str):
        raise CursorError("not a cursor")
    try:
        row_id = uuid.UUID(payload["i"])
    except ValueError as error:
        raise CursorError("not a cursor") from error
    value = _cursor_value(payload["v"], order.key)
    count = payload.get("n")
    if count is not None and (
        not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= COUNT_CAP + 1
    ):
        raise CursorError("not a cursor")
    return Cursor(order.param, value, row_id, backwards=bool(payload["b"]), count=count)


def _cursor_value(value: Any, key: SortKey) -> datetime | int | None:
    if value is None:
        if key.nullable:
            return None
        raise CursorError("not a cursor")
    if key.column == "started_at":
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise CursorError("not a cursor")
        return moment
    # Sort values are integer columns; 64 bits bound what the databases accept.
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
        raise CursorError("not a cursor")
    return value


def _cursor_at(row: dict[str, Any], order: ListOrder, *, backwards: bool, count: int | None) -> str:
    return Cursor(
        order.param, row[order.key.column], row["id"], backwards=backwards, count=count
    ).encode()


# ---------------------------------------------------------------------------
# Keyset


def _order_by(order: ListOrder, *, reverse: bool = False) -> list[OrderBy]:
    """ORDER BY for `order` (ties by id, the same way), or its exact reverse."""
    descending = order.descending != reverse
    # Nulls last in the list order, so first when it is read in reverse.
    nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
    nulls = nulls if order.key.nullable else {}
    column, row_id = F(order.key.column), F("id")
    if descending:
        return [column.desc(**nulls), row_id.desc()]
    return [column.asc(**nulls), row_id.asc()]


def _beyond(order: ListOrder, cursor: Cursor, *, reverse: bool = False) -> Q:
    """Rows strictly after the cursor's position in `order` (or in its reverse)."""
    descending = order.descending != reverse
    nulls_last = not reverse
    column, value = order.key.column, cursor.value
    past = "lt" if descending else "gt"
    id_beyond = Q(**{f"id__{past}": cursor.id})
    if value is None:
        among_nulls = Q(**{f"{column}__isnull": True}) & id_beyond
        return among_nulls if nulls_last else Q(**{f"{column}__isnull": False}) | among_nulls
    beyond = Q(**{f"{column}__{past}": value}) | (Q(**{column: value}) & id_beyond)
    if order.key.nullable:
        return beyond | Q(**{f"{column}__isnull": True}) if nulls_last else beyond
    # The redundant bound gives the index a range to seek (see queries.older_than).
    return Q(**{f"{column}__{past}e": value}) & beyond


# The rows of a page, around the ids its ORM query chose (`raw`: building and compiling
# this select list through the ORM, the flag sums' correlated subqueries and the order,
# cost about 3 of the 4 ms that a page's rows took on SQLite at 100,000 deployments; the
# statement itself ran in 0.3). The flag sums are computed for the chosen rows only
# (beside an ORDER BY that no index serves, SQLite computed them for every row it sorted).
# With a count, the page's capped count comes along as one more column: an uncorrelated
# subquery, computed once, which spares a round trip (0.5 to 1 ms on PostgreSQL).
ROWS_SQL = """
SELECT {columns}, d.lines_added + d.lines_deleted AS lines_changed,
    (SELECT COALESCE(SUM(f.references_added), 0) FROM {flags} f WHERE f.deployment_id = d.id),
    (SELECT COALESCE(SUM(f.references_removed), 0) FROM {flags} f WHERE f.deployment_id = d.id)
    {count}
FROM {table} d
WHERE d.id IN ({chosen})
ORDER BY {order}
"""
COUNT_COLUMN = ", (SELECT COUNT(*) FROM ({counted}) counted)"
ROW_NAMES = ("lines_changed", "flags_added", "flags_removed")
ROW_SELECT = raw.Select.of((Deployment, ROW_COLUMNS), (None, ROW_NAMES))
COUNTED_ROW_SELECT = raw.Select.of((Deployment, ROW_COLUMNS), (None, (*ROW_NAMES, "count")))


def _rows(
    page: QuerySet[Deployment],
    order: list[OrderBy],
    limit: int,
    *,
    counted: QuerySet[Deployment] | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """The first `limit` rows of `page` (ordered by `order`), as dicts of ROW_SELECT's
    names, in one query; with `counted`, also how many rows that queryset has (None
    when there are no rows to carry it)."""
    chosen, params = page.values("id")[:limit].query.sql_with_params()
    count = ""
    if counted is not None:
        counted_sql, counted_params = counted.query.sql_with_params()
        count = COUNT_COLUMN.format(counted=counted_sql)
        params = (*counted_params, *params)  # the select list comes before the WHERE
    sql = ROWS_SQL.format(
        columns=raw.columns("d", Deployment, ROW_COLUMNS),
        flags=raw.table(FlagReference),
        table=raw.table(Deployment),
        count=count,
        chosen=chosen,
        order=_order_sql(order),
    )
    rows = raw.fetch(ROW_SELECT if counted is None else COUNTED_ROW_SELECT, sql, params)
    if counted is None or not rows:
        return rows, None
    total = rows[0]["count"]
    for row in rows:
        del row["count"]
    return rows, total


def _order_sql(order: list[OrderBy]) -> str:
    """`_order_by`'s terms as SQL over the alias `d` (`lines_changed` is the select
    list's own)."""
    terms = []
    for term in order:
        name = term.expression.name
        column = name if name == "lines_changed" else f"d.{connection.ops.quote_name(name)}"
        nulls = " NULLS FIRST" if term.nulls_first else " NULLS LAST" if term.nulls_last else ""
        terms.append(f"{column} {'DESC' if term.descending else 'ASC'}{nulls}")
    return ", ".join(terms)


# ---------------------------------------------------------------------------
# One page


@dataclass(frozen=True)
class ListPage:
    rows: list[dict[str, Any]]  # ROW_COLUMNS, lines_changed, flags_added, flags_removed
    # Matches of the filter, whatever the cursor, counted up to COUNT_CAP + 1; None when
    # the count was deferred.
    count: int | None
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def count_capped(self) -> bool:
        return self.count is not None and self.count > COUNT_CAP


def list_page(
    where: ListFilter,
    order: ListOrder,
    *,
    size: int,
    cursor: Cursor | None = None,
    defer_search_count: bool = False,
) -> ListPage:
    """One page of the list in one query, whatever `size`: the rows (one more than
    `size`, to know whether more follow) with the capped count; one more with a text
    search, to plan it (`plan_search`).

    The count is skipped when the cursor carries the count its first page found; when
    the first page holds every match, it is their number. `defer_search_count` skips it
    for a text search too, leaving `count` None unless `count_matches` counted it in the
    last minute: a search's count can cost several times its page (the page asks for it
    in a request of its own). A cursor that reads forward came from a page before
    it, and one that reads backwards from a page after it, so that side is taken to hold
    rows without asking.
    """
    backwards = cursor is not None and cursor.backwards
    shape = plan_search(where.search, ordered_by_start=order.key.column == "started_at")
    ordering = _order_by(order, reverse=backwards)
    page = matching(where, search=shape, order=order).order_by(*ordering)
    if cursor is not None:
        page = page.filter(_beyond(order, cursor, reverse=backwards))
    carried = cursor.count if cursor is not None else None
    deferred = bool(where.search) and defer_search_count
    counted = None
    if carried is None and not deferred:
        counted = matching(where, search=replace(shape, correlated=False))
        counted = counted.values("id")[: COUNT_CAP + 1]
    rows, total = _rows(page, ordering, size + 1, counted=counted)
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    count: int | None
    if carried is not None:
        count = carried
    elif cursor is None and not more:
        count = len(rows)
    elif deferred:
        count = cache.get(_cache_key(SEARCH_COUNT_CACHE_PREFIX, where))
    elif total is not None:
        count = total
    else:  # a cursor past the last row, without a count: no row carried one
        count = counted.count()
    ahead, behind = (cursor is not None, more) if backwards else (more, cursor is not None)
    return ListPage(
        rows=rows,
        count=count,
        next_cursor=_cursor_at(rows[-1], order, backwards=False, count=count)
        if rows and ahead
        else None,
        previous_cursor=_cursor_at(rows[0], order, backwards=True, count=count)
        if rows and behind
        else None,
    )


def count_matches(where: ListFilter) -> int:
    """The capped count of the filter's matches, on its own (a text search's deferred
    count): planning a search, then counting. A search's count is kept for a minute, so
    that its next pages show it at once (`list_page`) and asking again costs nothing."""
    key = _cache_key(SEARCH_COUNT_CACHE_PREFIX, where)
    if where.search and (cached := cache.get(key)) is not None:
        return cached
    count = capped_count(matching(where, search=plan_search(where.search, ordered_by_start=False)))
    if where.search:
        cache.set(key, count, CHOICES_CACHE_SECONDS)
    return count


def _cache_key(prefix: str, where: ListFilter) -> str:
    return prefix + hashlib.sha256(repr(where).encode()).hexdigest()


def capped_count(matches: QuerySet[Deployment]) -> int:
    """How many rows match, counting no further than COUNT_CAP + 1."""
    return matches.values("id")[: COUNT_CAP + 1].count()


def status_counts(where: ListFilter, count: int | None = None) -> dict[str, int] | None:
    """Deployments per status under every filter but the status one, most first; None
    when that scope holds more than FACET_LIMIT rows, or for a text search (its
    subqueries cost as much again as the page).

    One query that groups at most FACET_LIMIT + 1 rows, so its cost is bounded whatever
    the scope; cached for a minute per scope, so that paging and sorting through one view
    do not pay again. `count` is the filter's own count, when the page has it: past
    FACET_LIMIT the scope, which holds at least as many rows, is too big to group, and
    the query is skipped (the default 4-week view at 100,000 deployments and most
    filtered views over all time: 1.3 to 2 ms on PostgreSQL).
    """
    if where.search:
        return None
    scope = replace(where, statuses=())
    key = _cache_key(FACETS_CACHE_PREFIX, scope)
    statuses = cache.get(key)
    if statuses is None:
        too_many = count is not None and count > FACET_LIMIT
        statuses = {} if too_many else _statuses(scope)
        cache.set(key, statuses, CHOICES_CACHE_SECONDS)
    return statuses or None


def _statuses(scope: ListFilter) -> dict[str, int]:
    """Deployments per status in `scope` (a filter without statuses), most first, or
    {} past FACET_LIMIT. The newest rows: without an order, PostgreSQL chose to read a
    4-week scope from the table's start, expecting matches to be spread evenly, and
    passed 92,000 older rows first (33 ms instead of 2)."""
    newest = matching(scope).order_by(*_order_by(DEFAULT_ORDER)).values("status")
    inner, params = newest[: FACET_LIMIT + 1].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT status, COUNT(*) FROM ({inner}) scope GROUP BY status", params)
        found = Counter(dict(cursor.fetchall()))
    return dict(found.most_common()) if found.total() <= FACET_LIMIT else {}


# ---------------------------------------------------------------------------
# Filter choices


@dataclass(frozen=True)
class FilterChoices:
    projects: tuple[str, ...]
    environments: tuple[str, ...]
    # (project, its applications), projects in order
    applications: tuple[tuple[str, tuple[str, ...]], ...]


def filter_choices() -> FilterChoices:
    """Projects, environments and applications in the cache, cached for a minute.

    One query that hops through deployment_app_started_idx from one (project,
    environment, application) to the next (`DISTINCT_TRIPLES`), reading an index entry
    per triple rather than every row: a SELECT DISTINCT read all 100,000 (20-30 ms on
    SQLite, about 50 ms on PostgreSQL). The cache spares even that while someone pages
    and sorts; a minute-old list only misses a brand-new application, which the filter
    still accepts (typed into the URL, it is kept in the form).
    """
    choices = cache.get(CHOICES_CACHE_KEY)
    if choices is None:
        choices = _filter_choices()
        cache.set(CHOICES_CACHE_KEY, choices, CHOICES_CACHE_SECONDS)
    return choices


# A loose index scan, written for SQLite and PostgreSQL alike (neither skips through an
# index by itself for DISTINCT): from each (project, environment, application) to the
# next application of the environment, else the first of the next environment, else the
# first of the next project. Every probe has equalities on the leading columns and a
# range on the next, so it is a seek; a row-value comparison `(p, e, a) > (...)` seeks
# on the first column alone in SQLite, and read a whole project per step (500 ms).
DISTINCT_TRIPLES = """
WITH RECURSIVE t(p, e, a) AS (
    SELECT {first_project}, {first_environment_of_first_project}, {first_application_of_firsts}
    UNION ALL
    SELECT
        CASE WHEN {next_application} IS NOT NULL OR {next_environment} IS NOT NULL
            THEN t.p ELSE {next_project} END,
        CASE WHEN {next_application} IS NOT NULL THEN t.e
            WHEN {next_environment} IS NOT NULL THEN {next_environment}
            ELSE {first_environment_of_next_project} END,
        CASE WHEN {next_application} IS NOT NULL THEN {next_application}
            WHEN {next_environment} IS NOT NULL THEN {first_application_of_next_environment}
            ELSE {first_application_of_next_project} END
    FROM t WHERE t.p IS NOT NULL
)
SELECT p, e, a FROM t WHERE p IS NOT NULL
"""
FIRST_PROJECT = "SELECT project_key FROM {table} ORDER BY project_key LIMIT 1"
NEXT_PROJECT = (
    "SELECT project_key FROM {table} WHERE project_key > t.p ORDER BY project_key LIMIT 1"
)
FIRST_ENVIRONMENT = (
    "SELECT environment_key FROM {table} WHERE project_key = {project}"
    " ORDER BY environment_key LIMIT 1"
)
NEXT_ENVIRONMENT = (
    "SELECT environment_key FROM {table} WHERE project_key = t.p AND environment_key > t.e"
    " ORDER BY environment_key LIMIT 1"
)
FIRST_APPLICATION = (
    "SELECT application_key FROM {table} WHERE project_key = {project}"
    " AND environment_key = {environment} ORDER BY application_key LIMIT 1"
)
NEXT_APPLICATION = (
    "SELECT application_key FROM {table} WHERE project_key = t.p AND environment_key = t.e"
    " AND application_key > t.a ORDER BY application_key LIMIT 1"
)


# PostgreSQL's own loose index scan: from each triple to the next greater one, by a
# row-value comparison its btree seeks on all three columns (1 ms for 33 triples at
# 100,000 deployments, where DISTINCT_TRIPLES's six probes a step took 5 ms). SQLite has
# no LATERAL, and seeks a row-value comparison on its first column only.
POSTGRESQL_DISTINCT_TRIPLES = """
WITH RECURSIVE t(p, e, a) AS (
    (SELECT project_key, environment_key, application_key FROM {table}
     ORDER BY project_key, environment_key, application_key LIMIT 1)
    UNION ALL
    SELECT next.* FROM t, LATERAL (
        SELECT project_key, environment_key, application_key FROM {table}
        WHERE (project_key, environment_key, application_key) > (t.p, t.e, t.a)
        ORDER BY project_key, environment_key, application_key LIMIT 1
    ) next
)
SELECT p, e, a FROM t
"""


def _distinct_triples() -> list[tuple[str, str, str]]:
    """Every (project, environment, application) in the cache, once, in order."""
    table = connection.ops.quote_name(Deployment._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(POSTGRESQL_DISTINCT_TRIPLES.format(table=table))
            return cursor.fetchall()

    def scalar(template: str, **columns: str) -> str:
        return "(" + template.format(table=table, **columns) + ")"

    first_project, next_project = scalar(FIRST_PROJECT), scalar(NEXT_PROJECT)
    next_environment = scalar(NEXT_ENVIRONMENT)
    first_environment = scalar(FIRST_ENVIRONMENT, project=first_project)
    first_environment_of_next = scalar(FIRST_ENVIRONMENT, project=next_project)
    sql = DISTINCT_TRIPLES.format(
        first_project=first_project,
        first_environment_of_first_project=first_environment,
        first_application_of_firsts=scalar(
            FIRST_APPLICATION, project=first_project, environment=first_environment
        ),
        next_project=next_project,
        next_environment=next_environment,
        next_application=scalar(NEXT_APPLICATION),
        first_environment_of_next_project=first_environment_of_next,
        first_application_of_next_environment=scalar(
            FIRST_APPLICATION, project="t.p", environment=next_environment
        ),
        first_application_of_next_project=scalar(
            FIRST_APPLICATION, project=next_project, environment=first_environment_of_next
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _filter_choices() -> FilterChoices:
    triples = _distinct_triples()
    applications: dict[str, set[str]] = {}
    for project, _, application in triples:
        applications.setdefault(project, set()).add(application)
    return FilterChoices(
        projects=tuple(sorted(applications)),
        environments=tuple(sorted({environment for _, environment, _ in triples})),
        applications=tuple((p, tuple(sorted(apps))) for p, apps in sorted(applications.items())),
    )


# ---------------------------------------------------------------------------
# Exports: the whole filtered view, in order, a chunk at a time


def export_rows(
    where: ListFilter, order: ListOrder, *, chunk_size: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of list rows (as `list_page` has them) for every match, in `order`: one
    query per chunk, by keyset."""
    for _, rows in _chunks(where, order, chunk_size or EXPORT_CHUNK_SIZE):
        yield rows


def export_documents(
    where: ListFilter, order: ListOrder, *, chunk_size: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of LaunchDarkly `DeploymentRep`s with both expansions for every match, in
    `order`: a constant number of queries per chunk (rows, then one per relation)."""
    chunk_size = chunk_size or EXPORT_CHUNK_SIZE
    for page, rows in _chunks(where, order, chunk_size, columns=DEPLOYMENT_COLUMNS):
        yield deployment_documents(rows, EXPANDABLE, ids=page.values("id")[:chunk_size])


def _chunks(
    where: ListFilter,
    order: ListOrder,
    chunk_size: int,
    *,
    columns: tuple[str, ...] | None = None,
) -> Iterator[tuple[QuerySet[Deployment], list[dict[str, Any]]]]:
    ordering = _order_by(order)
    shape = plan_search(where.search, ordered_by_start=False)
    matches = matching(where, search=shape, order=order).order_by(*ordering)
    cursor: Cursor | None = None
    while True:
        page = matches if cursor is None else matches.filter(_beyond(order, cursor))
        if columns is None:
            rows, _ = _rows(page, ordering, chunk_size)
        else:
            # The sort column comes along for the cursor (`lines_changed` is no column).
            wanted = dict.fromkeys((*columns, order.key.column))
            rows = list(page.values(*wanted)[:chunk_size])
        if rows:
            yield page, rows
        if len(rows) < chunk_size:
            return
        last = rows[-1]
        cursor = Cursor(order.param, last[order.key.column], last["id"])
