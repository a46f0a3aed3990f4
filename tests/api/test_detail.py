"""GET /api/v2/engineering-insights/deployments/<id>: one deployment, expanded or not."""

from __future__ import annotations

import uuid

import pytest

from deployments.representation import to_millis

URL = "/api/v2/engineering-insights/deployments"


def test_get_answers_the_deployment_without_expansions(api, make_deployment, example_deployment):
    deployment = make_deployment(applicationKey="search", status="started")

    response = api.get(f"{URL}/{deployment.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(deployment.id)
    assert body["applicationKey"] == "search"
    assert body["status"] == "started"
    assert body["startedAt"] == to_millis(deployment.started_at)
    assert body["leadTimeStages"] == example_deployment["leadTimeStages"]
    assert "pullRequests" not in body
    assert "flagReferences" not in body


@pytest.mark.parametrize(
    "expand", ["pullRequests", "flagReferences", "pullRequests,flagReferences", "flagReferences,"]
)
def test_expand_adds_the_collections_asked_for(api, make_deployment, example_deployment, expand):
    deployment = make_deployment()

    body = api.get(f"{URL}/{deployment.id}", {"expand": expand}).json()

    wanted = {name for name in expand.split(",") if name}
    assert {"pullRequests", "flagReferences"} & set(body) == wanted
    if "pullRequests" in wanted:
        (pull_request,) = body["pullRequests"]["items"]
        expected = example_deployment["pullRequests"]["items"][0]
        assert pull_request["leadTime"] == expected["leadTime"]
        assert pull_request["title"] == expected["title"]
        assert "deployments" not in pull_request
    if "flagReferences" in wanted:
        assert body["flagReferences"] == {
            "totalCount": 1,
            "items": example_deployment["flagReferences"]["items"],
        }


def test_expand_costs_one_query_per_relation(api, make_deployment, django_assert_num_queries):
    deployment = make_deployment()
    api.get(f"{URL}/{deployment.id}")  # the token's first use records last_used_at

    with django_assert_num_queries(2):  # the token, the deployment
        api.get(f"{URL}/{deployment.id}")
    # + PR links, their pull requests, the pull requests' flags, and flags
    with django_assert_num_queries(6):
        api.get(f"{URL}/{deployment.id}", {"expand": "pullRequests,flagReferences"})


@pytest.mark.parametrize("deployment_id", [str(uuid.uuid4()), "not-a-uuid", "12345", "%00"])
def test_unknown_or_malformed_ids_are_not_found(api, make_deployment, deployment_id):
    make_deployment()

    response = api.get(f"{URL}/{deployment_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("expand", ["owners", "pullRequests,owners", "pull\x00Requests"])
def test_a_bad_expand_is_refused(api, make_deployment, expand):
    deployment = make_deployment()

    response = api.get(f"{URL}/{deployment.id}", {"expand": expand})

    assert response.status_code == 400
    assert [error["attribute"] for error in response.json()["errors"]] == ["expand"]


def test_reading_needs_a_valid_token(reader_api, anonymous_api, make_deployment):
    deployment = make_deployment()

    assert reader_api.get(f"{URL}/{deployment.id}").status_code == 200
    assert anonymous_api.get(f"{URL}/{deployment.id}").status_code == 401
