"""The list page's read path: filters, text search, orders, keyset pages, counts, exports."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments.models import Deployment
from deployments.queries import listing
from deployments.queries.listing import (
    DEFAULT_ORDER,
    SORT_KEYS,
    Cursor,
    CursorError,
    ListFilter,
    ListOrder,
    SearchShape,
    capped_count,
    decode_cursor,
    export_documents,
    export_rows,
    filter_choices,
    list_page,
    matching,
    plan_search,
    status_counts,
)
from tests.list_helpers import deployment, flag, pull_request

pytestmark = pytest.mark.django_db

EVERYTHING = ListFilter(archived=None)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def ids(rows) -> list[uuid.UUID]:
    return [row["id"] for row in rows]


def matched(where: ListFilter, **shape) -> set[uuid.UUID]:
    return set(
        matching(where, search=SearchShape(**shape) if shape else None).values_list("id", flat=True)
    )


# ---------------------------------------------------------------------------
# Filters


def test_each_filter_alone_narrows_to_its_rows():
    plain = deployment()
    other_project = deployment(project_key="mobile")
    other_environment = deployment(environment_key="staging")
    other_application = deployment(application_key="invoice-worker")
    failed = deployment(status="failed")
    rollback = deployment(kind="rollback")
    active = deployment(active=True)
    every = {plain, other_project, other_environment, other_application, failed, rollback, active}
    every = {d.id for d in every}

    assert matched(ListFilter()) == every
    assert matched(ListFilter(project_key="mobile")) == {other_project.id}
    assert matched(ListFilter(environment_key="staging")) == {other_environment.id}
    assert matched(ListFilter(application_keys=("invoice-worker",))) == {other_application.id}
    assert matched(ListFilter(statuses=("failed",))) == {failed.id}
    assert matched(ListFilter(kinds=("rollback",))) == {rollback.id}
    assert matched(ListFilter(active=True)) == {active.id}
    assert matched(ListFilter(active=False)) == every - {active.id}


def test_filters_combine_and_applications_take_several():
    wanted = deployment(application_key="billing-service", status="failed")
    also = deployment(application_key="invoice-worker", status="failed")
    deployment(application_key="invoice-worker", status="finished")
    deployment(application_key="fraud-detector", status="failed")
    deployment(application_key="billing-service", status="failed", environment_key="staging")

    where = ListFilter(
        environment_key="production",
        application_keys=("billing-service", "invoice-worker"),
        statuses=("failed",),
    )

    assert matched(where) == {wanted.id, also.id}


def test_archived_deployments_are_hidden_unless_asked_for():
    shown = deployment()
    archived = deployment(archived=True)

    assert matched(ListFilter()) == {shown.id}
    assert matched(ListFilter(archived=None)) == {shown.id, archived.id}
    assert matched(ListFilter(archived=True)) == {archived.id}


def test_started_bounds_include_the_start_and_exclude_the_end():
    boundary = timezone.now().replace(microsecond=0) - timedelta(days=3)
    at_start = deployment(started_at=boundary)
    just_before = deployment(started_at=boundary - timedelta(microseconds=1))
    at_end = deployment(started_at=boundary + timedelta(days=1))

    where = ListFilter(started_from=boundary, started_before=boundary + timedelta(days=1))

    assert matched(where) == {at_start.id}
    assert just_before.id not in matched(replace(where, started_before=None))
    assert at_end.id in matched(replace(where, started_before=None))


# ---------------------------------------------------------------------------
# Text search, in every shape it can take

SHAPES = [
    pytest.param({}, id="subqueries"),
    pytest.param({"correlated": True}, id="correlated"),
]


@pytest.fixture
def searchable():
    """One deployment per thing a search looks at, each findable by one word only."""
    by_application = deployment(application_key="ledger-sync")
    by_version = deployment(application_version="v9.8.7-hotfix")
    by_title = deployment()
    pull_request(by_title, title="Fix race condition in price rules", external_id="77")
    by_number = deployment()
    pull_request(by_number, title="Unrelated", external_id="1234")
    by_author = deployment()
    pull_request(by_author, author="amara.okafor", external_id="78")
    by_flag = deployment()
    flag(by_flag, "three-d-secure-v2", added=1)
    nothing = deployment()
    pull_request(nothing, title="Docs", author="li.wei", external_id="79")
    return {
        "ledger": by_application,
        "8.7-HOT": by_version,
        "RACE condition": by_title,
        "1234": by_number,
        "#1234": by_number,
        "Okafor": by_author,
        "secure-v2": by_flag,
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_search_finds_each_field_case_insensitively(searchable, shape):
    for text, expected in searchable.items():
        assert matched(ListFilter(search=text), **shape) == {expected.id}, text


def test_search_with_the_probed_pull_requests_finds_the_same(searchable):
    for text, expected in searchable.items():
        shape = plan_search(text)
        assert not shape.correlated
        assert matched(ListFilter(search=text), **vars(shape)) == {expected.id}, text


def test_a_hash_number_finds_only_that_pull_request():
    numbered = deployment()
    pull_request(numbered, external_id="42")
    titled = deployment()
    pull_request(titled, title="Revert #42", external_id="43")

    assert matched(ListFilter(search="#42")) == {numbered.id}
    assert matched(ListFilter(search="42")) == {numbered.id, titled.id}


def test_a_search_matched_by_many_pull_requests_reads_newest_first_correlated(monkeypatch):
    monkeypatch.setattr(listing, "BROAD_SEARCH", 3)
    for _ in range(3):
        pull_request(deployment(), title="Add retry to the webhook sender")

    assert plan_search("retry") == SearchShape(correlated=True)
    assert plan_search("retry", ordered_by_start=False) == SearchShape()
    assert plan_search("no such words").pull_request_ids == ()
    page = list_page(ListFilter(search="retry"), DEFAULT_ORDER, size=2)
    assert len(page.rows) == 2 and page.next_cursor


def test_a_search_does_not_repeat_a_deployment_with_several_matching_pull_requests():
    several = deployment()
    for number in range(3):
        pull_request(several, title=f"Retry part {number}")
    flag(several, "retry-webhooks")

    page = list_page(ListFilter(search="retry"), DEFAULT_ORDER, size=25)

    assert ids(page.rows) == [several.id]
    assert page.count == 1


# ---------------------------------------------------------------------------
# Orders and keyset pages


@pytest.fixture
def spread():
    """Twelve deployments with ties on every sort key, and one still running."""
    now = timezone.now().replace(microsecond=0)
    rows = []
    for index in range(12):
        rows.append(
            deployment(
                # Pairs share a start, so ties on `started` are broken by id too.
                started_at=now - timedelta(hours=index // 2),
                duration_ms=(index % 4) * 1000,
                lead_time_ms=(index % 3) * 5000,
                lines_added=index % 5,
                lines_deleted=(index * 7) % 3,
                number_of_pull_requests=index % 2,
            )
        )
    rows.append(deployment(started_at=now - timedelta(minutes=30), duration_ms=None, ended_at=None))
    return rows


def expected_order(rows, key_name: str, descending: bool) -> list[uuid.UUID]:
    def key(row):
        value = {
            "started": row.started_at,
            "duration": row.duration_ms,
            "lead_time": row.lead_time_ms,
            "lines": row.lines_added + row.lines_deleted,
            "prs": row.number_of_pull_requests,
        }[key_name]
        return value, row.id

    present = [row for row in rows if key(row)[0] is not None]
    missing = sorted((row for row in rows if key(row)[0] is None), key=lambda r: r.id)
    ordered = sorted(present, key=key, reverse=descending)
    # No duration (still running) comes last either way, ties by id in the list's direction.
    return [row.id for row in ordered] + [
        row.id for row in (reversed(missing) if descending else missing)
    ]


ORDERS = [
    pytest.param(name, descending, id=f"{'-' if descending else ''}{name}")
    for name in SORT_KEYS
    for descending in (True, False)
]


@pytest.mark.parametrize(("name", "descending"), ORDERS)
def test_each_order_sorts_with_ties_broken_by_id(spread, name, descending):
    order = ListOrder(SORT_KEYS[name], descending=descending)

    page = list_page(EVERYTHING, order, size=100)

    assert ids(page.rows) == expected_order(spread, name, descending)


@pytest.mark.parametrize(("name", "descending"), ORDERS)
def test_pages_forward_then_back_cover_every_row_once(spread, name, descending):
    order = ListOrder(SORT_KEYS[name], descending=descending)
    expected = expected_order(spread, name, descending)

    pages = [list_page(EVERYTHING, order, size=4)]
    while pages[-1].next_cursor:
        pages.append(
            list_page(EVERYTHING, order, size=4, cursor=decode_cursor(pages[-1].next_cursor, order))
        )
    forward = [row_id for page in pages for row_id in ids(page.rows)]
    assert forward == expected
    assert [len(page.rows) for page in pages] == [4, 4, 4, 1]
    assert pages[0].previous_cursor is None and pages[-1].next_cursor is None

    back = [pages[-1]]
    while back[-1].previous_cursor:
        cursor = decode_cursor(back[-1].previous_cursor, order)
        back.append(list_page(EVERYTHING, order, size=4, cursor=cursor))
    backward = [row_id for page in reversed(back) for row_id in ids(page.rows)]
    assert backward == expected
    assert [ids(page.rows) for page in back[1:]] == [ids(page.rows) for page in pages[-2::-1]]


def test_pages_respect_the_filter_and_count_every_match(spread):
    deployment(status="failed")
    where = ListFilter(statuses=("finished",))

    first = list_page(where, DEFAULT_ORDER, size=5)
    second = list_page(
        where, DEFAULT_ORDER, size=5, cursor=decode_cursor(first.next_cursor, DEFAULT_ORDER)
    )

    assert first.count == second.count == 13
    assert not set(ids(first.rows)) & set(ids(second.rows))


def test_later_pages_take_the_count_from_the_cursor(spread):
    first = list_page(EVERYTHING, DEFAULT_ORDER, size=5)
    cursor = decode_cursor(first.next_cursor, DEFAULT_ORDER)

    with CaptureQueriesContext(connection) as queries:
        second = list_page(EVERYTHING, DEFAULT_ORDER, size=5, cursor=cursor)

    assert second.count == first.count == 13
    assert len(queries) == 1


def test_a_first_page_that_holds_every_match_needs_no_count(spread):
    with CaptureQueriesContext(connection) as queries:
        page = list_page(EVERYTHING, DEFAULT_ORDER, size=50)

    assert page.count == 13 and len(queries) == 1


def test_the_count_stops_at_the_cap(monkeypatch, spread):
    monkeypatch.setattr(listing, "COUNT_CAP", 10)

    page = list_page(EVERYTHING, DEFAULT_ORDER, size=5)

    assert page.count == 11 and page.count_capped


def test_a_text_search_may_leave_its_count_for_later(spread):
    for row in spread:
        pull_request(row, title="Retry webhooks")

    deferred = list_page(ListFilter(search="retry"), DEFAULT_ORDER, size=5, defer_search_count=True)
    counted = list_page(ListFilter(search="retry"), DEFAULT_ORDER, size=5)

    assert deferred.count is None and counted.count == 13
    assert listing.count_matches(ListFilter(search="retry")) == 13
    # Counted once, the next pages of that search show it at once.
    again = list_page(ListFilter(search="retry"), DEFAULT_ORDER, size=5, defer_search_count=True)
    assert again.count == 13


def test_a_searchs_count_asked_again_within_the_minute_costs_no_query(
    spread, django_assert_num_queries
):
    for row in spread:
        pull_request(row, title="Retry webhooks")
    assert listing.count_matches(ListFilter(search="retry")) == 13

    with django_assert_num_queries(0):
        assert listing.count_matches(ListFilter(search="retry")) == 13


def test_the_query_count_does_not_grow_with_the_page(spread):
    for row in spread:
        flag(row, "one", added=1)
        flag(row, "two", removed=2)
    with CaptureQueriesContext(connection) as small:
        list_page(EVERYTHING, DEFAULT_ORDER, size=2)
    with CaptureQueriesContext(connection) as large:
        page = list_page(EVERYTHING, DEFAULT_ORDER, size=12)

    assert len(small) == len(large) == 1  # the rows carry the count
    assert page.count == len(spread)
    assert {(row["flags_added"], row["flags_removed"]) for row in page.rows} == {(1, 2)}


@pytest.mark.parametrize("size", [1, 2, 5])
@pytest.mark.parametrize("statuses", [(), ("finished",), ("failed",)])
def test_the_count_that_comes_with_the_rows_is_the_capped_count(spread, size, statuses):
    where = replace(EVERYTHING, statuses=statuses)

    page = list_page(where, DEFAULT_ORDER, size=size)

    assert page.count == capped_count(matching(where))


def test_a_page_past_the_last_row_still_counts(spread):
    """A cursor without a count (made by hand, or older) that points past every row."""
    last = min(spread, key=lambda row: (row.started_at, row.id))
    cursor = Cursor(DEFAULT_ORDER.param, last.started_at, last.id)

    page = list_page(EVERYTHING, DEFAULT_ORDER, size=5, cursor=cursor)

    assert page.rows == [] and page.count == len(spread)


def test_rows_carry_flag_sums_and_lines_changed():
    target = deployment(lines_added=10, lines_deleted=4)
    flag(target, "a", added=2, removed=1)
    flag(target, "b", added=3, removed=5)
    bare = deployment(minutes_ago=120)

    rows = list_page(ListFilter(), DEFAULT_ORDER, size=5).rows

    assert [(r["id"], r["flags_added"], r["flags_removed"], r["lines_changed"]) for r in rows] == [
        (target.id, 5, 6, 14),
        (bare.id, 0, 0, 0),
    ]


# ---------------------------------------------------------------------------
# Cursors


def test_a_cursor_round_trips():
    order = ListOrder(SORT_KEYS["duration"], descending=False)
    cursor = Cursor(order.param, None, uuid.uuid4(), backwards=True, count=7)

    assert decode_cursor(cursor.encode(), order) == cursor


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64 at all!",
        "e30",  # {}
        "W10",  # []
        Cursor("-started", 5, uuid.uuid4()).encode(),  # a number where a time belongs
        Cursor("-started", None, uuid.uuid4()).encode(),  # started is never missing
        Cursor("-duration", 5, uuid.uuid4()).encode(),  # another order's cursor
        Cursor("-started", timezone.now(), uuid.uuid4(), count=-1).encode(),
        Cursor("-started", timezone.now(), uuid.uuid4(), count=10**9).encode(),
        "A" * 5000,
    ],
)
def test_a_damaged_cursor_is_refused(text):
    with pytest.raises(CursorError):
        decode_cursor(text, DEFAULT_ORDER)


def test_a_naive_time_or_a_huge_number_is_refused():
    import base64
    import json

    def encoded(payload):
        return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")

    row = str(uuid.uuid4())
    naive = encoded({"o": "-started", "v": "2024-01-01T00:00:00", "i": row, "b": 0})
    huge = encoded({"o": "-prs", "v": 2**70, "i": row, "b": 0})
    flag_b = encoded({"o": "-prs", "v": 1, "i": row, "b": 2})

    with pytest.raises(CursorError):
        decode_cursor(naive, DEFAULT_ORDER)
    for text in (huge, flag_b):
        with pytest.raises(CursorError):
            decode_cursor(text, ListOrder.parse("-prs"))


# ---------------------------------------------------------------------------
# Status counts and choices


def test_status_counts_ignore_the_status_filter_and_stop_past_the_limit(monkeypatch):
    for status in ("finished", "finished", "failed"):
        deployment(status=status)
    deployment(status="failed", environment_key="staging")

    counts = status_counts(ListFilter(environment_key="production", statuses=("failed",)))
    assert counts == {"finished": 2, "failed": 1}
    assert list(counts) == ["finished", "failed"]

    cache.clear()
    monkeypatch.setattr(listing, "FACET_LIMIT", 3)
    assert status_counts(ListFilter()) is None
    assert status_counts(ListFilter(statuses=("failed",))) is None
    assert status_counts(ListFilter(search="billing")) is None


@pytest.mark.parametrize(
    "statuses", [(), ("failed",), ("finished", "failed"), ("failed", "started"), ("started",)]
)
@pytest.mark.parametrize("facet_limit", [2, 100])
def test_the_page_count_and_the_status_counts_agree(statuses, facet_limit, monkeypatch):
    monkeypatch.setattr(listing, "FACET_LIMIT", facet_limit)
    for status in ("finished", "finished", "failed", "started"):
        deployment(status=status)
    deployment(status="failed", archived=True)
    where = ListFilter(statuses=statuses)

    page = list_page(where, DEFAULT_ORDER, size=1)
    counts = status_counts(where, page.count)

    assert page.count == capped_count(matching(where))
    # 4 rows not archived: status counts only under a limit that holds them.
    assert (counts is None) == (facet_limit < 4)
    if counts is not None:
        assert sum(counts.get(status, 0) for status in statuses or counts) == page.count


@pytest.mark.parametrize("statuses", [(), ("finished",)])
def test_a_count_past_the_limit_spares_the_status_counts(
    monkeypatch, django_assert_num_queries, statuses
):
    monkeypatch.setattr(listing, "FACET_LIMIT", 2)
    for minutes in range(3):
        deployment(minutes_ago=minutes + 1)
    where = ListFilter(statuses=statuses)

    # The page's count (with the rows) says the scope is too big to group: no query.
    with django_assert_num_queries(0):
        assert status_counts(where, 3) is None
    # Without a count, the status counts are tried.
    cache.clear()
    with django_assert_num_queries(1):
        assert status_counts(where) is None


def test_status_counts_read_the_newest_rows_of_their_scope(django_assert_num_queries):
    for minutes in range(3):
        deployment(minutes_ago=minutes + 1)
    with django_assert_num_queries(1) as captured:
        status_counts(ListFilter(statuses=("finished",)))
    assert "ORDER BY" in captured.captured_queries[0]["sql"].upper()


def test_filter_choices_list_each_key_once_and_are_cached(django_assert_num_queries):
    deployment(project_key="payments", environment_key="production")
    deployment(project_key="payments", environment_key="staging", application_key="ledger")
    deployment(project_key="mobile", environment_key="production", application_key="app")

    with django_assert_num_queries(1):
        choices = filter_choices()
        assert filter_choices() == choices

    assert choices.projects == ("mobile", "payments")
    assert choices.environments == ("production", "staging")
    assert choices.applications == (
        ("mobile", ("app",)),
        ("payments", ("billing-service", "ledger")),
    )


def test_the_loose_index_scan_finds_every_distinct_triple_once():
    keys = ("a", "a-b", "ab", "b")
    for project in keys[:3]:
        for environment in keys[1:]:
            for application in keys[(len(project) + len(environment)) % 3 :]:
                for _ in range(2):
                    deployment(
                        project_key=project,
                        environment_key=environment,
                        application_key=application,
                    )
    expected = list(
        Deployment.objects.order_by("project_key", "environment_key", "application_key")
        .values_list("project_key", "environment_key", "application_key")
        .distinct()
    )

    assert [tuple(triple) for triple in listing._distinct_triples()] == expected
    assert len(expected) > 20


# ---------------------------------------------------------------------------
# Exports


def test_exports_read_every_match_in_order_in_a_constant_number_of_queries(spread):
    for row in spread:
        pull_request(row)
        flag(row, "f", added=1)
    order = ListOrder(SORT_KEYS["lines"], descending=True)
    expected = expected_order(spread, "lines", True)

    with CaptureQueriesContext(connection) as queries:
        chunks = list(export_rows(EVERYTHING, order, chunk_size=5))
    assert [len(chunk) for chunk in chunks] == [5, 5, 3]
    assert [row["id"] for chunk in chunks for row in chunk] == expected
    assert len(queries) == 3

    with CaptureQueriesContext(connection) as queries:
        documents = [
            d for chunk in export_documents(EVERYTHING, order, chunk_size=5) for d in chunk
        ]
    assert [uuid.UUID(d["id"]) for d in documents] == expected
    # Per chunk: the rows, then the links, pull requests and their flags, and the flags.
    assert len(queries) == 3 * 5
    assert all(d["pullRequests"]["totalCount"] == 1 for d in documents)


@pytest.mark.postgres
def test_postgresql_serves_the_search_from_trigram_indexes():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no trigram indexes and scans")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%trgm'")
        definitions = dict(cursor.fetchall())

    assert set(definitions) == {
        "pull_request_title_trgm",
        "pull_request_author_trgm",
        "flag_reference_key_trgm",
    }
    # The expression Django's `icontains` compares, or the planner cannot use them.
    assert all("gin (upper(" in text and "gin_trgm_ops" in text for text in definitions.values())


# Plans are checked over enough rows that the right index wins on cost, and PostgreSQL
# plans from statistics of these rows, gathered in the test's transaction (they roll
# back with it). Over a handful of rows every plan costs about the same: the choice then
# followed whatever statistics autovacuum had last gathered from earlier tests' rows.
PLANNED_ROWS = 4000
STATUSES, KINDS = ("finished", "failed", "started"), ("forward", "rollback", "redeployment")


@pytest.fixture
def planned_rows() -> list[Deployment]:
    now = timezone.now()
    rows = Deployment.objects.bulk_create(
        Deployment(
            project_key=f"project-{index % 3}",
            environment_key=f"environment-{index % 5}",
            application_key=f"app-{index % 40}",
            application_version=f"v{index}",
            status=STATUSES[index // 40 % 3],
            kind=KINDS[index // 120 % 3],
            archived=index % 9 == 0,
            started_at=now - timedelta(minutes=index),
        )
        for index in range(PLANNED_ROWS)
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Deployment._meta.db_table)}")
    return rows


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_an_application_filter_without_a_project_is_counted_from_its_index(planned_rows):
    where = ListFilter(application_keys=("app-1",), statuses=("finished",), kinds=("forward",))

    counted = listing.matching(where).values("id")[: listing.COUNT_CAP + 1]

    assert "deployment_live_app_idx" in _plan(counted)
    expected = [
        row
        for row in planned_rows
        if (row.application_key, row.status, row.kind, row.archived)
        == ("app-1", "finished", "forward", False)
    ]
    assert listing.capped_count(listing.matching(where)) == len(expected) > 5


def test_the_loose_index_scan_finds_what_select_distinct_finds():
    keys = ["a", "a-b", "a_b", "B", "b", "ä", "z9", "z10"]
    for index in range(60):
        deployment(
            project_key=keys[index % 3],
            environment_key=keys[(index // 3) % 4 + 2],
            application_key=keys[(index * 7) % len(keys)],
        )

    distinct = set(
        Deployment.objects.order_by()
        .values_list("project_key", "environment_key", "application_key")
        .distinct()
    )

    found = listing._distinct_triples()
    assert len(found) == len(distinct) > 20  # each once
    assert set(found) == distinct


def test_the_loose_index_scan_probes_the_index_rather_than_reading_the_table(planned_rows):
    table = Deployment._meta.db_table
    with CaptureQueriesContext(connection) as captured:
        listing._distinct_triples()
    sql = captured.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            reads = [row[-1] for row in cursor.fetchall() if table in row[-1]]
            # Every read of the table goes through an index (a SCAN of one stops at its
            # first entry: ORDER BY ... LIMIT 1), the application probes through the
            # (project, environment, application) one.
            assert reads and all("USING COVERING INDEX" in read for read in reads)
            assert any("deployment_app_started_idx" in read for read in reads)
        else:
            cursor.execute("EXPLAIN " + sql)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "deployment_app_started_idx" in plan and "Seq Scan" not in plan
