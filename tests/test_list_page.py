"""/deployments/: the page, its htmx fragments, its links and its CSV and JSON exports."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import include, set_script_prefix
from django.urls import path as route
from django.utils import timezone

from deployments.queries import listing
from deployments.queries.listing import Cursor
from tests.list_helpers import deployment, flag, pull_request, sign_in
from tests.schema import assert_valid

pytestmark = pytest.mark.django_db

URL = "/deployments/"
ROW_LINK = re.compile(r'<td class="application"><a href="/deployments/([0-9a-f-]{36})/">')
HREF = re.compile(r'<a href="([^"]*)"[^>]*rel="(next|prev)"')


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def viewer(client):
    sign_in(client)
    return client


def body(response) -> str:
    return response.content.decode()


def row_ids(response) -> list[str]:
    return ROW_LINK.findall(body(response))


def link(response, rel: str) -> str | None:
    found = {kind: href for href, kind in HREF.findall(body(response))}
    href = found.get(rel)
    return href.replace("&amp;", "&") if href else None


# ---------------------------------------------------------------------------
# Page and fragments


def test_the_list_needs_a_sign_in(client):
    for path in (URL, "/deployments/export.csv", "/deployments/export.json"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/")


def test_the_page_shows_a_row_per_deployment_with_its_cells(viewer):
    started = timezone.now() - timedelta(hours=3)
    shown = deployment(
        started_at=started,
        application_key="billing-service",
        application_version="v2.14.3",
        duration_ms=252_000,
        lead_time_ms=90_000_000,
        number_of_pull_requests=2,
        lines_added=1200,
        lines_deleted=50,
        active=True,
    )
    flag(shown, "a", added=2, removed=1)
    flag(shown, "b", added=1)

    response = viewer.get(URL)

    assert response.status_code == 200
    page = body(response)
    assert "<html" in page and 'id="deployment-filters"' in page
    assert row_ids(response) == [str(shown.id)]
    local = timezone.localtime(started)
    assert f'<time datetime="{local.isoformat(timespec="seconds")}"' in page
    assert "3 h ago" in page and local.strftime("%Y-%m-%d %H:%M") in page
    for text in ("v2.14.3", "4m 12s", ">1d 1h<", "+1,200", "−50", "+3 −1", "flag-active"):
        assert text in page, text
    assert "<strong>1</strong> deployment<" in page


def test_the_filter_forms_htmx_request_gets_only_the_results(viewer):
    deployment()

    response = viewer.get(URL, headers={"HX-Request": "true", "HX-Target": "results"})

    page = body(response)
    assert response.status_code == 200
    assert '<section id="results"' in page and "<html" not in page
    assert 'id="deployment-filters"' not in page
    assert "HX-Request" in response["Vary"] and "HX-Target" in response["Vary"]


def test_boosted_links_and_history_restores_get_the_whole_page(viewer):
    deployment()
    boosted = viewer.get(URL, headers={"HX-Request": "true", "HX-Boosted": "true"})
    restore = viewer.get(URL, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    plain = viewer.get(URL)

    for response in (boosted, restore, plain):
        assert "<html" in body(response) and 'id="deployment-filters"' in body(response)


def test_the_page_and_the_fragment_cost_the_same_queries_for_25_or_100_rows(viewer):
    for index in range(120):
        row = deployment(minutes_ago=index + 1)
        flag(row, "f", added=1)
    viewer.get(URL)  # the filter choices are cached from here on

    for headers in ({}, {"HX-Request": "true", "HX-Target": "results"}):
        with CaptureQueriesContext(connection) as small:
            response = viewer.get(URL, {"size": 25}, headers=headers)
        assert len(row_ids(response)) == 25
        with CaptureQueriesContext(connection) as large:
            response = viewer.get(URL, {"size": 100}, headers=headers)
        assert len(row_ids(response)) == 100
        assert len(large) == len(small)
        # Of those, the list's own: the rows alone; the count is the sum of the status
        # counts, cached by the first request.
        own = [q for q in large.captured_queries if "deployments_deployment" in q["sql"]]
        assert len(own) == 1, [q["sql"][:80] for q in own]


# ---------------------------------------------------------------------------
# Filters in the URL


def test_filters_come_from_the_url_and_show_in_the_form(viewer):
    wanted = deployment(application_key="invoice-worker", status="failed", kind="rollback")
    deployment(application_key="invoice-worker", status="finished", kind="rollback")
    deployment(application_key="billing-service", status="failed", kind="rollback")

    response = viewer.get(
        URL,
        {
            "project": "payments",
            "environment": "production",
            "application": ["invoice-worker", "ledger"],
            "status": "failed",
            "kind": "rollback",
        },
    )

    page = body(response)
    assert row_ids(response) == [str(wanted.id)]
    assert '<option value="payments" selected>' in page
    assert '<option value="production" selected>' in page
    assert '<option value="invoice-worker" selected>' in page
    # Not a known application (yet): kept, so nothing typed is lost.
    assert '<option value="ledger" selected>' in page
    assert 'name="status" value="failed" checked' in page
    assert 'name="kind" value="rollback" checked' in page


def test_archived_deployments_are_hidden_until_shown(viewer):
    live = deployment()
    archived = deployment(archived=True, minutes_ago=120)

    hidden = viewer.get(URL)
    assert row_ids(hidden) == [str(live.id)]
    toggle = re.search(r'<a href="([^"]*archived=show[^"]*)"', body(hidden))
    assert toggle, "a link shows archived deployments"

    shown = viewer.get(toggle.group(1).replace("&amp;", "&"))
    assert row_ids(shown) == [str(live.id), str(archived.id)]
    assert "flag-archived" in body(shown)
    assert row_ids(viewer.get(URL, {"archived": "only"})) == [str(archived.id)]


@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/Los_Angeles"])
def test_periods_and_dates_are_days_in_the_organisations_timezone(viewer, settings, zone):
    settings.TIME_ZONE = zone
    local = ZoneInfo(zone)
    today = timezone.localdate()
    # The first moment of the 7-day period ("last week" is today and the 6 days before).
    start = datetime.combine(today - timedelta(days=6), datetime.min.time(), tzinfo=local)
    inside = deployment(started_at=start)
    outside = deployment(started_at=start - timedelta(seconds=1))

    assert row_ids(viewer.get(URL, {"period": "1w"})) == [str(inside.id)]
    assert str(outside.id) in row_ids(viewer.get(URL, {"period": "2w"}))

    # A custom range holds whole local days, both included.
    day = today - timedelta(days=3)
    first = deployment(started_at=datetime.combine(day, datetime.min.time(), tzinfo=local))
    last = deployment(
        started_at=datetime.combine(day, datetime.max.time(), tzinfo=local).replace(microsecond=0)
    )
    deployment(
        started_at=datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=local)
    )
    response = viewer.get(URL, {"from": day.isoformat(), "to": day.isoformat()})
    assert row_ids(response) == [str(last.id), str(first.id)]
    assert '<option value="custom" selected>' in body(response)


def test_dates_win_over_the_period_and_an_open_range_works(viewer):
    old = deployment(minutes_ago=60 * 24 * 60)
    recent = deployment()
    since = (timezone.localdate() - timedelta(days=90)).isoformat()

    assert row_ids(viewer.get(URL, {"period": "1w", "from": since})) == [
        str(recent.id),
        str(old.id),
    ]
    until = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert row_ids(viewer.get(URL, {"to": until})) == [str(old.id)]
    assert row_ids(viewer.get(URL, {"period": "all"})) == [str(recent.id), str(old.id)]


def test_the_default_period_is_the_last_four_weeks(viewer):
    deployment(minutes_ago=60 * 24 * 30)
    recent = deployment(minutes_ago=60 * 24 * 20)

    response = viewer.get(URL)

    assert row_ids(response) == [str(recent.id)]
    assert '<option value="4w" selected>' in body(response)


# ---------------------------------------------------------------------------
# Text search


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("ledger", "application"),
        ("9.8.7", "version"),
        ("race condition", "title"),
        ("#4321", "number"),
        ("4321", "number"),
        ("amara", "author"),
        ("secure-v2", "flag"),
    ],
)
def test_search_finds_application_version_title_number_author_and_flag(viewer, text, where):
    targets = {
        "application": deployment(application_key="ledger-sync"),
        "version": deployment(application_version="v9.8.7"),
        "title": deployment(),
        "number": deployment(),
        "author": deployment(),
        "flag": deployment(),
    }
    pull_request(targets["title"], title="Fix race condition", external_id="1")
    pull_request(targets["number"], title="Other", external_id="4321")
    pull_request(targets["author"], author="amara.okafor", external_id="2")
    flag(targets["flag"], "three-d-secure-v2", added=1)
    deployment()

    response = viewer.get(URL, {"q": text})

    assert row_ids(response) == [str(targets[where].id)]
    assert f'value="{text}"' in body(response)


def test_a_search_term_and_stored_text_are_escaped(viewer):
    target = deployment(application_key="<b>app</b>")
    pull_request(target, title="<script>alert(1)</script>", external_id="5")

    response = viewer.get(URL, {"q": "<script>"})

    page = body(response)
    assert row_ids(response) == [str(target.id)]
    assert "<script>alert" not in page and "<b>app" not in page
    assert "&lt;b&gt;app&lt;/b&gt;" in page
    assert 'value="&lt;script&gt;"' in page
    assert "matching “&lt;script&gt;”" in page


def test_a_searchs_count_arrives_in_its_own_request(viewer):
    for index in range(30):
        pull_request(deployment(minutes_ago=index + 1), title="Retry webhooks")

    response = viewer.get(URL, {"q": "retry"})

    page = body(response)
    assert len(row_ids(response)) == 25
    placeholder = re.search(r'<span id="result-count" hx-get="([^"]*)"', page)
    assert placeholder and "More than 25" in page
    count = viewer.get(
        placeholder.group(1).replace("&amp;", "&"),
        headers={"HX-Request": "true", "HX-Target": "result-count"},
    )
    assert body(count).strip() == '<span id="result-count"><strong>30</strong> deployments</span>'


# ---------------------------------------------------------------------------
# Sorting and pages


def test_column_headers_link_to_their_order_and_say_which_is_current(viewer):
    deployment()

    default = body(viewer.get(URL))
    assert 'aria-sort="descending"><a href="/deployments/?sort=started"' in default
    assert '<a href="/deployments/?sort=-duration"' in default

    by_duration = body(viewer.get(URL, {"sort": "-duration"}))
    assert 'aria-sort="descending"><a href="/deployments/?sort=duration"' in by_duration
    ascending = body(viewer.get(URL, {"sort": "duration"}))
    assert 'aria-sort="ascending"><a href="/deployments/?sort=-duration"' in ascending
    assert 'aria-sort="ascending"><a href="/deployments/"' in body(
        viewer.get(URL, {"sort": "started"})
    )


@pytest.mark.parametrize("sort", ["-started", "lines", "-prs", "duration", "-lead_time"])
def test_next_and_previous_links_walk_every_row_once(viewer, sort):
    made = [
        deployment(
            minutes_ago=index // 2 + 1,
            lines_added=index % 4,
            number_of_pull_requests=index % 3,
            duration_ms=None if index == 5 else index * 1000,
            lead_time_ms=(index % 2) * 1000,
        )
        for index in range(60)
    ]

    seen, response = [], viewer.get(URL, {"sort": sort})
    pages = [row_ids(response)]
    while link(response, "next"):
        response = viewer.get(link(response, "next"))
        assert response.status_code == 200
        pages.append(row_ids(response))
        assert "First page" in body(response)
    seen = [row for page in pages for row in page]
    assert sorted(seen) == sorted(str(d.id) for d in made)
    assert [len(page) for page in pages] == [25, 25, 10]
    assert "<strong>60</strong> deployments" in body(response)

    back = [row_ids(response)]
    while link(response, "prev"):
        response = viewer.get(link(response, "prev"))
        back.append(row_ids(response))
    assert back[::-1] == pages


@pytest.mark.parametrize("size", [25, 50, 100])
def test_the_page_size_is_chosen_from_three(viewer, size):
    for index in range(101):
        deployment(minutes_ago=index + 1)

    response = viewer.get(URL, {"size": size})

    assert len(row_ids(response)) == size
    assert f'<option value="{size}" selected>' in body(response)
    assert f"size={size}" in (link(response, "next") or "") or size == 25


def test_past_the_cap_the_count_says_so(viewer, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 30)
    for index in range(40):
        deployment(minutes_ago=index + 1)

    response = viewer.get(URL)

    assert "<strong>30+</strong> deployments" in body(response)


# ---------------------------------------------------------------------------
# Empty states and bad input


def test_an_empty_list_says_which_filters_and_offers_ways_out(viewer):
    deployment(minutes_ago=60 * 24 * 60, status="failed")

    response = viewer.get(URL, {"status": "failed", "q": "nothing-like-this"})

    page = body(response)
    assert row_ids(response) == []
    assert "No deployments match these filters." in page
    assert "status failed" in page and "started last 4 weeks" in page
    assert "matching “nothing-like-this”" in page
    assert '<a href="/deployments/">Clear filters</a>' in page
    assert "Look at all time" in page and "Include archived deployments" in page


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2024-13-45"}, "From", "Enter a valid date."),
        ({"sort": "name"}, "Sort", "That is not a column to sort by."),
        ({"size": "37"}, "Per page", "Choose 25, 50 or 100 deployments per page."),
        ({"cursor": "garbage"}, "Page link", "That page link is out of date or damaged"),
        ({"period": "custom"}, "From", "Give a start date, an end date, or both."),
        ({"from": "2024-02-01", "to": "2024-01-01"}, "To", "The end date is before"),
        ({"from": "0001-01-01"}, "From", "Choose a date between"),
        ({"q": "x" * 201}, "Search", "Ensure this value has at most 200 characters"),
        ({"project": "a\x00b"}, "Project", "Null characters are not allowed."),
    ],
)
def test_bad_input_is_a_form_error_and_the_other_filters_stay(viewer, params, field, message):
    kept = deployment(status="failed", application_key="invoice-worker")
    deployment(status="finished", application_key="invoice-worker")

    for headers in ({}, {"HX-Request": "true", "HX-Target": "results"}):
        response = viewer.get(
            URL, {"status": "failed", "application": "invoice-worker", **params}, headers=headers
        )
        page = body(response)
        assert response.status_code == 200
        assert 'role="alert"' in page and f"<strong>{field}</strong>: {message}" in page
        assert row_ids(response) == [str(kept.id)]
    full = body(viewer.get(URL, {"status": "failed", "application": "invoice-worker", **params}))
    assert 'name="status" value="failed" checked' in full
    assert '<option value="invoice-worker" selected>' in full
    if "from" in params and params["from"] != "":
        assert f'value="{params["from"]}"' in full


def test_a_cursor_from_another_order_shows_the_first_page(viewer):
    rows = [deployment(minutes_ago=index + 1) for index in range(30)]
    cursor = Cursor("-duration", 1000, rows[10].id).encode()

    response = viewer.get(URL, {"cursor": cursor})

    assert row_ids(response)[0] == str(rows[0].id)
    assert "That page link is out of date or damaged: showing the first page." in body(response)


def test_the_list_answers_get_only(viewer):
    assert viewer.post(URL).status_code == 405


# ---------------------------------------------------------------------------
# Exports


def csv_rows(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_export_is_the_filtered_sorted_view(viewer, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    small = deployment(lines_added=1, status="failed")
    large = deployment(lines_added=100, status="failed", minutes_ago=120)
    deployment(lines_added=50, status="finished")
    flag(large, "f", added=2, removed=3)

    response = viewer.get("/deployments/export.csv", {"status": "failed", "sort": "-lines"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="deployments-') and disposition.endswith(
        '.csv"'
    )
    rows = csv_rows(response)
    assert [row["id"] for row in rows] == [str(large.id), str(small.id)]
    first = rows[0]
    assert first["lines_added"] == "100" and first["flag_references_added"] == "2"
    assert first["flag_references_removed"] == "3" and first["archived"] == "false"
    # ISO 8601 in the organisation's timezone, to the millisecond.
    started = datetime.fromisoformat(first["started_at"])
    assert started.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert started == large.started_at.replace(
        microsecond=large.started_at.microsecond // 1000 * 1000
    )


def test_the_csv_export_defuses_formulas(viewer):
    deployment(application_key='=HYPERLINK("http://evil")', application_version="+1", kind="@x")
    deployment(application_key="-2+3", minutes_ago=120)

    rows = csv_rows(viewer.get("/deployments/export.csv"))

    assert [row["application"] for row in rows] == ['\'=HYPERLINK("http://evil")', "'-2+3"]
    assert rows[0]["version"] == "'+1" and rows[0]["kind"] == "'@x"


def test_the_json_export_is_a_launchdarkly_collection_of_the_filtered_sorted_view(viewer):
    first = deployment(duration_ms=5_000, environment_key="staging")
    second = deployment(duration_ms=9_000, environment_key="staging", minutes_ago=120)
    deployment(environment_key="production")
    pull_request(second, title="Retry", external_id="12")
    flag(second, "f", added=1)

    response = viewer.get(
        "/deployments/export.json", {"environment": "staging", "sort": "-duration"}
    )

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/json"
    assert re.fullmatch(
        r'attachment; filename="deployments-staging-\d{8}-\d{4}\.json"',
        response["Content-Disposition"],
    )
    document = json.loads(b"".join(response.streaming_content))
    assert_valid(document, "DeploymentCollectionRep")
    assert document["totalCount"] == 2
    assert [item["id"] for item in document["items"]] == [str(second.id), str(first.id)]
    assert document["items"][0]["pullRequests"]["items"][0]["externalId"] == "12"
    assert document["items"][0]["flagReferences"]["totalCount"] == 1
    assert document["items"][1]["pullRequests"] == {"totalCount": 0, "items": []}


def test_an_empty_json_export_is_still_a_collection(viewer):
    document = json.loads(b"".join(viewer.get("/deployments/export.json").streaming_content))

    assert document == {"items": [], "totalCount": 0}
    assert_valid(document, "DeploymentCollectionRep")


def test_exports_take_the_pages_links(viewer):
    deployment(status="failed")

    page = body(viewer.get(URL, {"status": "failed", "sort": "lines", "size": "50"}))

    csv_href = re.search(r'href="(/deployments/export\.csv[^"]*)"', page).group(1)
    params = parse_qs(urlsplit(csv_href.replace("&amp;", "&")).query)
    assert params == {"status": ["failed"], "sort": ["lines"]}


def test_exports_refuse_bad_filters(viewer):
    response = viewer.get("/deployments/export.csv", {"from": "yesterday"})

    assert response.status_code == 400
    assert "From: Enter a valid date." in body(response)


def test_exports_stream_in_chunks_with_constant_queries_per_chunk(viewer, monkeypatch):
    monkeypatch.setattr(listing, "EXPORT_CHUNK_SIZE", 4)
    for index in range(10):
        pull_request(deployment(minutes_ago=index + 1))

    with CaptureQueriesContext(connection) as queries:
        document = json.loads(b"".join(viewer.get("/deployments/export.json").streaming_content))
    assert document["totalCount"] == 10
    own = [q for q in queries.captured_queries if '"deployments_' in q["sql"]]
    # Three chunks (4, 4, 2), each: the rows, then links, pull requests, their flags, flags.
    assert len(own) == 3 * 5

    assert len(csv_rows(viewer.get("/deployments/export.csv"))) == 10


def test_a_deployment_id_in_the_rows_links_to_its_page(viewer):
    shown = deployment()

    page = body(viewer.get(URL))

    assert f'<a href="/deployments/{shown.id}/">billing-service</a>' in page
    assert str(uuid.UUID(int=0)) not in page


def test_a_bad_date_leaves_the_other_date_in_force(viewer):
    old = deployment(minutes_ago=60 * 24 * 60)
    deployment()
    until = (timezone.localdate() - timedelta(days=30)).isoformat()

    response = viewer.get(URL, {"from": "31/12/2024", "to": until})

    assert row_ids(response) == [str(old.id)]
    assert "<strong>From</strong>: Enter a valid date." in body(response)
    assert 'value="31/12/2024"' in body(response)


# ---------------------------------------------------------------------------
# The form's behaviour in a browser, as the markup sets it up (tests/browser/test_list.py
# drives it)


def test_the_search_submits_as_typed_and_its_blur_sends_nothing(viewer):
    page = body(viewer.get(URL))

    form = re.search(r'<form id="deployment-filters"[^>]*>', page).group()
    trigger = re.search(r'hx-trigger="([^"]*)"', form).group(1)
    parts = [part.strip() for part in trigger.split(",")]
    assert "input changed delay:300ms from:#filter-q" in parts
    # Change events bubble to the form: every field's but the search box's, whose change
    # (on blur) would repeat the request its typing already sent.
    assert "change[target.name!='q']" in parts and "change" not in parts
    assert 'hx-sync="this:replace"' in form


@pytest.mark.parametrize(
    ("params", "is_open", "summary"),
    [
        ({}, False, "Filters</summary>"),
        ({"q": "billing"}, False, "Filters</summary>"),
        ({"status": ["failed", "started"], "sort": "duration"}, True, "(2 in use)"),
        ({"period": "all"}, True, "(1 in use)"),
        ({"size": "37"}, True, "Filters</summary>"),
    ],
)
def test_the_filter_panel_starts_open_when_its_fields_are_in_use(viewer, params, is_open, summary):
    page = body(viewer.get(URL, params))

    panel = re.search(r'<details id="filter-panel"[^>]*>', page).group()
    assert (" open" in panel) is is_open
    assert summary in page
    # Whatever the server says, the search box and the submit button stay outside it.
    assert page.index('id="filter-q"') < page.index(panel) > page.index("Apply filters")


def test_without_javascript_a_searchs_count_is_a_link_away(viewer):
    for index in range(30):
        pull_request(deployment(minutes_ago=index + 1), title="Retry webhooks")

    page = body(viewer.get(URL, {"q": "retry"}))

    assert "More than 25" in page
    href = re.search(r'<a class="count-link" href="([^"]*)">\(count them\)</a>', page)
    assert href and "count=1" in href.group(1)
    counted = viewer.get(href.group(1).replace("&amp;", "&"))
    counted_page = body(counted)
    assert "<strong>30</strong> deployments" in counted_page
    assert 'hx-trigger="load"' not in counted_page
    # The count is asked for once: the page's other links leave it out (the next page
    # carries the count in its cursor).
    assert "count=1" not in (link(counted, "next") or "")
    assert "count=1" not in counted_page.split('id="results"', 1)[1]


@pytest.mark.parametrize("params", [{}, {"status": "finished", "kind": "forward"}, {"q": "retry"}])
@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true", "HX-Target": "results"}])
def test_the_query_count_is_the_same_for_25_or_100_rows(
    viewer, django_assert_max_num_queries, params, headers
):
    for index in range(120):
        row = deployment(minutes_ago=index + 1)
        flag(row, "f", added=1)
        pull_request(row, title="Retry webhooks")
    # The filter choices and this scope's status counts are cached from here on.
    viewer.get(URL, params)

    # The session; the user with their groups; the rows with the count; a search also
    # plans itself first.
    limit = 4 if "q" in params else 3
    counts = []
    for size in (25, 100):
        with django_assert_max_num_queries(limit) as queries:
            response = viewer.get(URL, {**params, "size": size, "count": "1"}, headers=headers)
        counts.append(len(queries))
        assert len(row_ids(response)) == size
        assert "<strong>120</strong> deployments" in body(response)
    assert counts[0] == counts[1]


# A URLconf that mounts the dashboard under another path.
urlpatterns = [route("ops/", include("dashboard.urls"))]


def links(page: str, row_id) -> list[str]:
    return [
        href
        for href in re.findall(r'href="([^"]*)"', page)
        if str(row_id) in href or "export.csv" in href or "sort=" in href
    ]


def test_the_pages_links_follow_the_script_prefix_and_the_urlconf(viewer, settings):
    """Links are reversed once per script prefix and URLconf, not once for all."""
    row = deployment(minutes_ago=5)
    at_root = links(body(viewer.get(URL)), row.id)
    assert f"/deployments/{row.id}/" in at_root

    # Behind a proxy that serves the dashboard below a path (WSGI's SCRIPT_NAME, which
    # Django's handler turns into the script prefix; the test client does not).
    set_script_prefix("/dash/")
    try:
        below = links(body(viewer.get(URL)), row.id)
    finally:
        set_script_prefix("/")
    assert below == ["/dash" + href for href in at_root]

    settings.ROOT_URLCONF = __name__
    elsewhere = links(body(viewer.get("/ops/deployments/")), row.id)
    assert elsewhere == ["/ops" + href for href in at_root]

    settings.ROOT_URLCONF = "dashboard.urls"
    assert links(body(viewer.get(URL)), row.id) == at_root
