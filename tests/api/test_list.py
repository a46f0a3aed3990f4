"""GET /api/v2/engineering-insights/deployments: filters, order, cursors, links, errors."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.utils import timezone

from deployments.api.params import list_params
from deployments.errors import InvalidRequest
from deployments.models import Deployment
from deployments.representation import from_millis, to_millis
from tests.api.conftest import assert_launchdarkly_response

URL = "/api/v2/engineering-insights/deployments"
SCOPE = {"projectKey": "default", "environmentKey": "production"}
MINUTE = 60_000
DAY = 24 * 60 * MINUTE


@pytest.fixture
def now_ms():
    return to_millis(timezone.now())


@pytest.fixture
def deploy(make_deployment, now_ms):
    """Caches a deployment that started `minutes_ago`, in the default scope."""

    def make(minutes_ago=10, **overrides):
        started = overrides.pop("startedAt", now_ms - minutes_ago * MINUTE)
        overrides.setdefault("endedAt", started + 1_000)
        return make_deployment(startedAt=started, **overrides)

    return make


def ids(response) -> list[str]:
    return [item["id"] for item in response.json()["items"]]


def newest_first(deployments) -> list[str]:
    return [
        str(d.id) for d in sorted(deployments, key=lambda d: (d.started_at, d.id), reverse=True)
    ]


def follow(api, link: dict):
    """GETs a `_links` href as a client would, validating the answer like `api.get`."""
    path, _, query = link["href"].partition("?")
    return raw_get(api, path, query)


def raw_get(api, path: str, query: str):
    """A GET with the query string exactly as given (the fixture would re-encode it)."""
    response = api.client.get(f"{path}?{query}", headers=api._headers(None))
    assert_launchdarkly_response(response, path, "GET")
    return response


def link_params(link: dict) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link["href"]).query, keep_blank_values=True)


def error_attributes(response) -> list[str]:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_request"
    return sorted(error["attribute"] for error in response.json()["errors"])


# ---------------------------------------------------------------------------
# Defaults, filters, order


def test_defaults_to_twenty_newest_of_the_last_seven_days_in_the_scope(api, deploy, now_ms):
    recent = [deploy(minutes_ago=30 * i + 1) for i in range(25)]
    deploy(startedAt=now_ms - 7 * DAY - MINUTE)  # older than the default window
    deploy(startedAt=now_ms + 10 * MINUTE)  # after "now"
    deploy(environmentKey="staging")
    deploy(project_key="other")

    response = api.get(URL, SCOPE)

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == newest_first(recent)[:20]
    assert body["totalCount"] == 25
    assert set(body["_links"]) == {"self", "next"}
    assert "pullRequests" not in body["items"][0]
    assert "flagReferences" not in body["items"][0]


def test_equal_start_times_are_ordered_by_id_descending(api, deploy, now_ms):
    same = [deploy(startedAt=now_ms - 5 * MINUTE) for _ in range(6)]
    newer = deploy(minutes_ago=1)
    older = deploy(minutes_ago=9)

    response = api.get(URL, SCOPE)

    expected = [str(newer.id), *sorted((str(d.id) for d in same), reverse=True), str(older.id)]
    assert ids(response) == expected


@pytest.mark.parametrize("encoded", [True, False], ids=["percent-encoded", "literal-comma"])
def test_application_keys_take_a_comma_list(api, deploy, encoded):
    billing = deploy(applicationKey="billing")
    search = deploy(applicationKey="search")
    deploy(applicationKey="checkout")
    comma = "%2C" if encoded else ","

    response = raw_get(
        api,
        URL,
        f"projectKey=default&environmentKey=production&applicationKey=billing{comma}search",
    )

    assert response.status_code == 200
    assert sorted(ids(response)) == sorted([str(billing.id), str(search.id)])
    assert response.json()["totalCount"] == 2


def test_list_parameters_repeated_add_to_the_list(api, deploy):
    billing = deploy(applicationKey="billing")
    search = deploy(applicationKey="search")
    deploy(applicationKey="checkout")

    response = raw_get(
        api,
        URL,
        "projectKey=default&environmentKey=production&applicationKey=billing&applicationKey=search",
    )

    assert sorted(ids(response)) == sorted([str(billing.id), str(search.id)])


def test_kind_and_status_match_exactly_and_take_lists(api, deploy):
    rollback_failed = deploy(kind="rollback", status="failed")
    rollback_started = deploy(kind="rollback", status="started")
    forward_failed = deploy(kind="forward", status="failed")
    deploy(kind="rollback", status="finished")
    plural = deploy(kind="rollbacks", status="failed")  # no prefix or substring matching

    by_kind_and_status = api.get(URL, {**SCOPE, "kind": "rollback", "status": "failed"})
    by_status_list = api.get(URL, {**SCOPE, "kind": "rollback", "status": "failed,started"})
    by_kind_list = api.get(URL, {**SCOPE, "kind": "forward,rollbacks", "status": "failed"})

    assert ids(by_kind_and_status) == [str(rollback_failed.id)]
    assert sorted(ids(by_status_list)) == sorted(
        [str(rollback_failed.id), str(rollback_started.id)]
    )
    assert sorted(ids(by_kind_list)) == sorted([str(forward_failed.id), str(plural.id)])


def test_from_and_to_are_inclusive_bounds_on_started_at(api, deploy, now_ms):
    start, end = now_ms - 3 * DAY, now_ms - 2 * DAY
    deploy(startedAt=start - 1)
    at_start = deploy(startedAt=start)
    at_end = deploy(startedAt=end)
    deploy(startedAt=end + 1)
    # Stored with microseconds, shown as `end`: inside the bound as the client sees it.
    inside_end = deploy(startedAt=end - 5)
    Deployment.objects.filter(id=inside_end.id).update(
        started_at=from_millis(end) + timedelta(microseconds=600)
    )

    response = api.get(URL, {**SCOPE, "from": start, "to": end})

    assert sorted(ids(response)) == sorted(str(d.id) for d in (at_start, at_end, inside_end))
    assert {item["startedAt"] for item in response.json()["items"]} == {start, end}


def test_from_defaults_to_seven_days_before_to(api, deploy, now_ms):
    to = now_ms - 30 * DAY
    deploy(startedAt=to - 7 * DAY - 1)
    inside = [deploy(startedAt=to - 7 * DAY), deploy(startedAt=to)]
    deploy(startedAt=to + 1)

    response = api.get(URL, {**SCOPE, "to": to})

    assert sorted(ids(response)) == sorted(str(d.id) for d in inside)


def test_total_count_counts_every_match_whatever_the_page_and_cursor(api, deploy):
    deployments = [deploy(minutes_ago=i + 1) for i in range(10)]
    deploy(status="failed")

    first = api.get(URL, {**SCOPE, "limit": 3, "status": "finished"})
    later = api.get(URL, {**SCOPE, "limit": 3, "status": "finished", "after": ids(first)[-1]})

    assert len(ids(first)) == 3
    assert first.json()["totalCount"] == later.json()["totalCount"] == len(deployments)


# ---------------------------------------------------------------------------
# Cursors and links


@pytest.fixture
def eleven(deploy, now_ms):
    """Eleven deployments, three sharing one start time, newest first by (time, id)."""
    shared = now_ms - 50 * MINUTE
    made = [deploy(minutes_ago=i * 7 + 1) for i in range(8)]
    made += [deploy(startedAt=shared) for _ in range(3)]
    deploy(kind="forward")  # filtered out below: the walk must not see it
    return newest_first(made)


def test_walking_next_links_then_prev_links_visits_every_match_once_in_order(api, eleven):
    params = {**SCOPE, "limit": 3, "kind": "redeployment", "expand": "flagReferences"}
    pages = [api.get(URL, params)]
    while "next" in pages[-1].json()["_links"]:
        pages.append(follow(api, pages[-1].json()["_links"]["next"]))

    assert [len(ids(page)) for page in pages] == [3, 3, 3, 2]
    assert [i for page in pages for i in ids(page)] == eleven
    assert "prev" not in pages[0].json()["_links"]
    assert all("prev" in page.json()["_links"] for page in pages[1:])

    backwards = [pages[-1]]
    while "prev" in backwards[-1].json()["_links"]:
        backwards.append(follow(api, backwards[-1].json()["_links"]["prev"]))

    assert [ids(page) for page in reversed(backwards)] == [ids(page) for page in pages]
    assert "next" in backwards[-1].json()["_links"]
    assert {page.json()["totalCount"] for page in pages + backwards} == {11}


def test_before_gives_the_rows_just_before_the_cursor_newest_first(api, eleven):
    response = api.get(URL, {**SCOPE, "limit": 3, "kind": "redeployment", "before": eleven[7]})

    assert ids(response) == eleven[4:7]
    assert set(response.json()["_links"]) == {"self", "next", "prev"}


def test_before_near_the_top_gives_a_short_page_without_prev(api, eleven):
    response = api.get(URL, {**SCOPE, "limit": 3, "kind": "redeployment", "before": eleven[2]})

    assert ids(response) == eleven[:2]
    assert set(response.json()["_links"]) == {"self", "next"}


def test_the_cursor_row_itself_counts_as_beyond_the_page(api, eleven):
    params = {**SCOPE, "limit": 3, "kind": "redeployment"}

    after_first = api.get(URL, {**params, "after": eleven[0]})
    before_last = api.get(URL, {**params, "before": eleven[-1]})

    assert ids(after_first) == eleven[1:4]
    assert ids(follow(api, after_first.json()["_links"]["prev"])) == eleven[:1]
    assert ids(before_last) == eleven[-4:-1]
    assert ids(follow(api, before_last.json()["_links"]["next"])) == eleven[-1:]


def test_links_keep_every_other_parameter(api, eleven):
    params = {
        **SCOPE,
        "limit": "2",
        "kind": "redeployment",
        "status": "finished",
        "expand": "pullRequests,flagReferences",
        "applicationKey": "billing-service",
        "custom": "kept too",
    }
    middle = api.get(URL, {**params, "after": eleven[1]})
    links = middle.json()["_links"]
    expected = {name: [value] for name, value in params.items()}

    assert links["self"]["href"].startswith(f"{URL}?")
    assert link_params(links["self"]) == {**expected, "after": [eleven[1]]}
    assert link_params(links["next"]) == {**expected, "after": [eleven[3]]}
    assert link_params(links["prev"]) == {**expected, "before": [eleven[2]]}
    assert all(link["type"] == "application/json" for link in links.values())
    # Commas between list items stay readable.
    assert "expand=pullRequests,flagReferences" in links["next"]["href"]


def test_a_single_page_has_only_a_self_link(api, eleven):
    response = api.get(URL, {**SCOPE, "limit": 100})

    assert response.json()["_links"] == {
        "self": {
            "href": f"{URL}?projectKey=default&environmentKey=production&limit=100",
            "type": "application/json",
        }
    }


@pytest.mark.parametrize("cursor", ["after", "before"])
def test_a_cursor_naming_no_deployment_in_the_scope_is_refused(api, deploy, cursor):
    elsewhere = deploy(environmentKey="staging")
    for value in (str(uuid.uuid4()), str(elsewhere.id), "not-a-uuid"):
        response = api.get(URL, {**SCOPE, cursor: value})
        assert error_attributes(response) == [cursor], value


# ---------------------------------------------------------------------------
# Expansions


@pytest.mark.parametrize(
    "expand",
    ["", "pullRequests", "flagReferences", "pullRequests,flagReferences", "flagReferences,,"],
)
def test_expand_adds_exactly_the_collections_asked_for(api, deploy, expand):
    deploy()

    item = api.get(URL, {**SCOPE, "expand": expand}).json()["items"][0]

    wanted = {name for name in expand.split(",") if name}
    assert {"pullRequests", "flagReferences"} & set(item) == wanted
    if "pullRequests" in wanted:
        pull_request = item["pullRequests"]["items"][0]
        assert pull_request["leadTime"]["codingDurationMs"] == 1_000_000
        assert pull_request["flagReferences"]["items"][0]["flagKey"]
    if "flagReferences" in wanted:
        assert item["flagReferences"]["totalCount"] == 1


# ---------------------------------------------------------------------------
# Validation


def test_every_problem_is_listed_in_one_answer(api, deploy):
    deploy()

    response = api.get(
        URL,
        {
            "limit": "0",
            "from": "yesterday",
            "to": "1.5",
            "expand": "pullRequests,owners",
            "after": str(uuid.uuid4()),
            "before": str(uuid.uuid4()),
        },
    )

    assert error_attributes(response) == [
        "before",
        "environmentKey",
        "expand",
        "from",
        "limit",
        "projectKey",
        "to",
    ]
    reasons = {e["attribute"]: e["reason"] for e in response.json()["errors"]}
    assert "owners" in reasons["expand"]
    assert "after" in reasons["before"]


@pytest.mark.parametrize(
    ("params", "attribute"),
    [
        ({"limit": "101"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "1e2"}, "limit"),
        ({"limit": " 5"}, "limit"),
        ({"limit": "1_0"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"from": "2", "to": "1"}, "from"),
        ({"from": "-1"}, "from"),
        ({"to": "99999999999999999"}, "to"),
        ({"projectKey": ""}, "projectKey"),
        ({"kind": "a\x00b"}, "kind"),
        ({"status": "x" * 1001}, "status"),
        ({"anything": "\x00"}, "anything"),
    ],
)
def test_a_bad_parameter_is_named(api, params, attribute):
    response = api.get(URL, {**SCOPE, **params})

    assert error_attributes(response) == [attribute]


def test_nul_in_the_scope_keys_is_refused_before_the_database_sees_it(api):
    response = api.get(URL, {"projectKey": "de\x00fault", "environmentKey": "\x00"})

    assert error_attributes(response) == ["environmentKey", "projectKey"]


def test_a_scalar_parameter_given_twice_is_refused(api):
    response = raw_get(api, URL, "projectKey=default&environmentKey=production&limit=1&limit=2")

    assert error_attributes(response) == ["limit"]


def test_lone_surrogates_are_refused():
    # No HTTP request carries one (Django decodes bad UTF-8 to U+FFFD), but a caller
    # that builds the QueryDict itself could.
    query = QueryDict(mutable=True)
    query.update({**SCOPE, "kind": "\ud800"})

    with pytest.raises(InvalidRequest) as raised:
        list_params(query)

    assert raised.value.errors == [
        {"attribute": "kind", "reason": "must not contain lone surrogates (invalid Unicode)"}
    ]


def test_reading_needs_a_valid_token(reader_api, anonymous_api, deploy):
    deploy()

    assert reader_api.get(URL, SCOPE).status_code == 200
    assert anonymous_api.get(URL, SCOPE).status_code == 401


# ---------------------------------------------------------------------------
# Query counts: flat whatever the page size and expansions


def test_query_count_is_constant_whatever_limit_and_expand(api, deploy, django_assert_num_queries):
    made = [deploy(minutes_ago=i + 1) for i in range(12)]
    api.get(URL, SCOPE)  # the token's first use records last_used_at; not counted below
    both = "pullRequests,flagReferences"

    # The token lookup, the page, the count, then one per relation: PR links, their
    # pull requests, the pull requests' flag references, and flag references.
    for limit, expand, queries in [
        (1, "", 3),
        (100, "", 3),
        (1, "flagReferences", 4),
        (100, "pullRequests", 6),
        (1, both, 7),
        (100, both, 7),
    ]:
        with django_assert_num_queries(queries):
            response = api.get(URL, {**SCOPE, "limit": limit, "expand": expand})
        assert len(ids(response)) == min(limit, len(made))

    # A cursor adds two: where it stands, and whether rows lie behind it.
    for cursor in ("after", "before"):
        with django_assert_num_queries(9):
            api.get(URL, {**SCOPE, "limit": 100, "expand": both, cursor: str(made[5].id)})


# ---------------------------------------------------------------------------
# This server's own OpenAPI description


def test_openapi_description_lists_the_operations_and_their_parameters(client):
    document = client.get("/api/v2/openapi.json").json()

    collection = document["paths"][URL]["get"]
    detail = next(v for k, v in document["paths"].items() if k.startswith(f"{URL}/{{"))
    assert collection["operationId"] == "getDeployments"
    assert {p["name"] for p in collection["parameters"]} == {
        "projectKey",
        "environmentKey",
        "applicationKey",
        "limit",
        "expand",
        "from",
        "to",
        "after",
        "before",
        "kind",
        "status",
    }
    required = {p["name"] for p in collection["parameters"] if p.get("required")}
    assert required == {"projectKey", "environmentKey"}
    assert detail["get"]["operationId"] == "getDeployment"
    assert "expand" in {p["name"] for p in detail["get"]["parameters"]}
    assert detail["patch"]["operationId"] == "updateDeployment"
    assert set(detail["patch"]["requestBody"]["content"]) == {
        "application/json",
        "application/json-patch+json",
    }
    for operation in (collection, detail["get"], detail["patch"]):
        assert {"200", "400", "401", "403"} <= set(operation["responses"])
