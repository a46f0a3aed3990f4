"""PATCH /api/v2/engineering-insights/deployments/<id>: JSON Patch edits, recorded."""

from __future__ import annotations

import json
import uuid

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from deployments.models import ApiToken, Change, Deployment
from deployments.representation import deployment_rep
from deployments.roles import RELEASE_CAPTAIN
from tests.api.conftest import LaunchDarklyClient, issue_token

URL = "/api/v2/engineering-insights/deployments"
FINISH_AND_ARCHIVE = [
    {"op": "test", "path": "/status", "value": "started"},
    {"op": "replace", "path": "/status", "value": "finished"},
    {"op": "replace", "path": "/archived", "value": True},
]


@pytest.fixture
def deployment(make_deployment):
    return make_deployment(status="started", archived=False)


def unchanged(deployment: Deployment) -> bool:
    before = deployment_rep(deployment)
    deployment.refresh_from_db()
    return deployment_rep(deployment) == before


def error_attributes(response) -> list[str]:
    return [error["attribute"] for error in response.json()["errors"]]


@pytest.mark.parametrize("content_type", ["application/json", "application/json-patch+json"])
def test_patch_applies_and_answers_what_a_fresh_get_shows(api, deployment, content_type):
    response = api.patch(f"{URL}/{deployment.id}", FINISH_AND_ARCHIVE, content_type=content_type)

    assert response.status_code == 200
    assert response.json()["status"] == "finished"
    assert response.json()["archived"] is True
    assert response.json() == api.get(f"{URL}/{deployment.id}").json()
    change = Change.objects.get()
    assert change.outcome == Change.Outcome.APPLIED
    assert change.source == Change.Source.API
    assert change.actor is None
    assert change.actor_label == "service:ci-pipeline"
    assert change.patch == FINISH_AND_ARCHIVE
    assert change.reason == ""


def test_the_envelope_comment_becomes_the_change_reason(api, deployment):
    body = {"comment": "Rolled out by hand; CI missed the event", "patch": FINISH_AND_ARCHIVE}

    response = api.patch(f"{URL}/{deployment.id}", body)

    assert response.status_code == 200
    assert response.json()["status"] == "finished"
    change = Change.objects.get()
    assert change.reason == "Rolled out by hand; CI missed the event"
    assert change.patch == FINISH_AND_ARCHIVE


def test_a_release_captains_token_records_the_captain(deployment, django_user_model):
    captain = django_user_model.objects.create_user("captain")
    captain.groups.add(Group.objects.get(name=RELEASE_CAPTAIN))
    api = LaunchDarklyClient(Client(), issue_token(ApiToken.Role.WRITER, user=captain))

    response = api.patch(f"{URL}/{deployment.id}", FINISH_AND_ARCHIVE)

    assert response.status_code == 200
    change = Change.objects.get()
    assert change.actor == captain
    assert change.actor_label == "captain"


def test_patch_answers_without_expansions(api, deployment):
    response = api.patch(
        f"{URL}/{deployment.id}", [{"op": "add", "path": "/metadata/x", "value": 1}]
    )

    assert response.json()["metadata"] == {"buildNumber": "1234", "x": 1}
    assert "pullRequests" not in response.json()
    assert "flagReferences" not in response.json()


def test_a_failed_test_operation_is_409_and_changes_nothing(api, deployment):
    patch = [
        {"op": "test", "path": "/status", "value": "failed"},
        {"op": "replace", "path": "/archived", "value": True},
    ]

    response = api.patch(f"{URL}/{deployment.id}", patch)

    assert response.status_code == 409
    assert response.json()["code"] == "optimistic_locking_error"
    assert unchanged(deployment)
    assert Change.objects.get().outcome == Change.Outcome.CONFLICT


def test_an_operation_the_deployment_cannot_take_is_422(api, deployment):
    response = api.patch(f"{URL}/{deployment.id}", [{"op": "remove", "path": "/metadata/nope"}])

    assert response.status_code == 422
    assert response.json()["code"] == "patch_failed"
    assert unchanged(deployment)


def test_read_only_paths_are_400_naming_each_operation(api, deployment):
    patch = [
        {"op": "replace", "path": "/applicationKey", "value": "other"},
        {"op": "replace", "path": "/status", "value": "finished"},
        {"op": "remove", "path": "/leadTime"},
    ]

    response = api.patch(f"{URL}/{deployment.id}", patch)

    assert response.status_code == 400
    assert error_attributes(response) == ["/applicationKey", "/leadTime"]
    assert unchanged(deployment)
    assert Change.objects.get().outcome == Change.Outcome.REJECTED


@pytest.mark.parametrize("body", ["finish it", 42, None, True])
def test_a_body_that_is_not_an_array_is_400_and_recorded(api, deployment, body):
    response = api.patch(f"{URL}/{deployment.id}", body)

    assert response.status_code == 400
    assert error_attributes(response) == ["patch"]
    assert unchanged(deployment)
    assert Change.objects.get().patch == body


@pytest.mark.parametrize(
    ("body", "attributes"),
    [
        ({"comment": "why"}, ["patch"]),
        ({}, ["patch"]),
        ({"comment": "why", "patch": {"op": "remove"}}, ["patch"]),
        ({"comment": 7, "patch": FINISH_AND_ARCHIVE}, ["comment"]),
        ({"comment": "x" * 2001, "patch": FINISH_AND_ARCHIVE}, ["comment"]),
        ({"comment": "a\x00b", "patch": FINISH_AND_ARCHIVE}, ["comment"]),
        ({"op": "replace", "path": "/status", "value": "failed"}, ["op", "path", "value", "patch"]),
    ],
)
def test_a_bad_envelope_is_400_naming_every_problem(api, deployment, body, attributes):
    response = api.patch(f"{URL}/{deployment.id}", body)

    assert response.status_code == 400
    assert error_attributes(response) == attributes
    assert unchanged(deployment)


def test_a_comment_of_two_thousand_characters_is_kept(api, deployment):
    comment = "é" * 2000

    response = api.patch(f"{URL}/{deployment.id}", {"comment": comment, "patch": []})

    assert response.status_code == 200
    assert Change.objects.get().reason == comment


@pytest.mark.parametrize("raw", ["[{", "", "[1,]", '{"patch": [], "patch": []}'])
def test_a_body_that_is_not_json_is_400(api, deployment, raw):
    response = api.patch(f"{URL}/{deployment.id}", raw=raw)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert unchanged(deployment)


def test_another_content_type_is_415(api, deployment):
    response = api.patch(
        f"{URL}/{deployment.id}", raw=json.dumps(FINISH_AND_ARCHIVE), content_type="text/plain"
    )

    assert response.status_code == 415
    assert unchanged(deployment)


@pytest.mark.parametrize("deployment_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_unknown_deployments_are_404(api, deployment_id):
    response = api.patch(f"{URL}/{deployment_id}", FINISH_AND_ARCHIVE)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_reader_token_may_not_patch(reader_api, anonymous_api, deployment):
    assert reader_api.patch(f"{URL}/{deployment.id}", FINISH_AND_ARCHIVE).status_code == 403
    assert anonymous_api.patch(f"{URL}/{deployment.id}", FINISH_AND_ARCHIVE).status_code == 401
    assert unchanged(deployment)
    assert not Change.objects.exists()
