"""POST /api/v2/engineering-insights/deployment-events, as pipelines call it.

Every call goes through the `api` fixtures' client, which checks each response against
LaunchDarkly's spec (201 with no body; errors in LaunchDarkly's shape).
"""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client

from deployments import patching
from deployments.models import Change, Deployment, DeploymentEvent
from deployments.representation import deployment_rep, from_millis
from tests.api.conftest import LaunchDarklyClient
from tests.fault_server import Answer, FaultServer
from tests.reference import load_reference
from tests.schema import assert_valid

pytestmark = pytest.mark.django_db

PATH = "/api/v2/engineering-insights/deployment-events"
T0 = 1_706_700_000_000
MINUTE = 60_000
SCOPE = {"project_key": "default", "environment_key": "production", "application_key": "billing"}


def event(event_type, version="v1", **fields):
    body = {
        "projectKey": "default",
        "environmentKey": "production",
        "applicationKey": "billing",
        "applicationName": "Billing Service",
        "version": version,
        "eventType": event_type,
    }
    body.update(fields)
    return body


def post_created(api, body):
    response = api.post(PATH, body)
    assert response.status_code == 201, response.content
    assert response.content == b""
    return response


def nothing_recorded():
    return not Deployment.objects.exists() and not DeploymentEvent.objects.exists()


def test_a_pipeline_deploys_fails_and_rolls_back(api):
    steps = [
        ("started", "v1", T0),
        ("finished", "v1", T0 + 4 * MINUTE),
        ("started", "v2", T0 + 10 * MINUTE),
        ("failed", "v2", T0 + 13 * MINUTE),
        ("started", "v1", T0 + 20 * MINUTE),  # the rollback
        ("finished", "v1", T0 + 22 * MINUTE),
    ]
    for event_type, version, at in steps:
        post_created(
            api,
            event(event_type, version, eventTime=at, eventMetadata={"step": event_type}),
        )

    # The model's default order is the list's: newest start first.
    rollback, failed, first = Deployment.objects.filter(**SCOPE)
    assert [d.application_version for d in (rollback, failed, first)] == ["v1", "v2", "v1"]
    assert [d.status for d in (rollback, failed, first)] == ["finished", "failed", "finished"]
    assert [d.kind for d in (rollback, failed, first)] == ["rollback", "forward", "forward"]
    assert [d.active for d in (rollback, failed, first)] == [True, False, False]
    assert [d.duration_ms for d in (rollback, failed, first)] == [
        2 * MINUTE,
        3 * MINUTE,
        4 * MINUTE,
    ]
    assert (rollback.started_at, rollback.ended_at) == (
        from_millis(T0 + 20 * MINUTE),
        from_millis(T0 + 22 * MINUTE),
    )
    assert Deployment.objects.filter(active=True).count() == 1
    for deployment, ending in [(rollback, "finished"), (failed, "failed"), (first, "finished")]:
        events = list(deployment.events.all())
        assert [e.event_type for e in events] == ["started", ending]
        assert [e.event_metadata for e in events] == [{"step": "started"}, {"step": ending}]
        assert {e.application_name for e in events} == {"Billing Service"}
        assert_valid(deployment_rep(deployment), "DeploymentRep")
    assert not Change.objects.exists()  # pipeline data, not user edits


def test_the_active_flag_moved_at_each_finish(api):
    post_created(api, event("finished", "v1", eventTime=T0))
    assert Deployment.objects.get(active=True).application_version == "v1"

    post_created(api, event("started", "v2", eventTime=T0 + MINUTE))
    post_created(api, event("failed", "v2", eventTime=T0 + 2 * MINUTE))
    assert Deployment.objects.get(active=True).application_version == "v1"

    post_created(api, event("finished", "v3", eventTime=T0 + 3 * MINUTE))
    assert Deployment.objects.get(active=True).application_version == "v3"


def test_finished_without_started_creates_a_closed_deployment(api):
    post_created(api, event("finished", eventTime=T0, deploymentMetadata={"buildNumber": "9"}))

    deployment = Deployment.objects.get()
    assert deployment.started_at == deployment.ended_at == from_millis(T0)
    assert (deployment.status, deployment.duration_ms, deployment.active) == ("finished", 0, True)
    assert deployment.metadata == {"buildNumber": "9"}


def test_deployment_metadata_merges_and_custom_events_join_the_timeline(api):
    post_created(api, event("started", eventTime=T0, deploymentMetadata={"a": 1, "b": 1}))
    post_created(
        api,
        event(
            "custom",
            eventTime=T0 + MINUTE,
            eventMetadata={"check": "smoke"},
            deploymentMetadata={"b": 2},
        ),
    )
    post_created(api, event("finished", eventTime=T0 + 2 * MINUTE, deploymentMetadata={"c": 3}))

    deployment = Deployment.objects.get()
    assert deployment.metadata == {"a": 1, "b": 2, "c": 3}
    assert [(e.event_type, e.event_metadata) for e in deployment.events.all()] == [
        ("started", None),
        ("custom", {"check": "smoke"}),
        ("finished", None),
    ]


def test_custom_event_for_an_unknown_version_is_not_found(api):
    post_created(api, event("finished", "v1", eventTime=T0))

    response = api.post(PATH, event("custom", "v404", eventTime=T0 + MINUTE))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "'v404'" in response.json()["message"]
    assert DeploymentEvent.objects.count() == 1


def test_a_retried_post_with_event_time_answers_201_and_creates_nothing(api):
    body = event("started", eventTime=T0)
    post_created(api, body)
    post_created(api, event("finished", eventTime=T0 + MINUTE))

    # The same JSON, other key order and whitespace: the same event.
    response = api.post(PATH, raw=json.dumps(dict(reversed(body.items())), indent=2))

    assert response.status_code == 201 and response.content == b""
    assert Deployment.objects.count() == 1 and DeploymentEvent.objects.count() == 2
    assert Deployment.objects.get().status == "finished"


def test_a_retried_post_without_event_time_is_a_duplicate_only_for_a_while(api):
    post_created(api, event("started"))
    post_created(api, event("started"))
    assert Deployment.objects.count() == 1

    DeploymentEvent.objects.update(received_at=F("received_at") - timedelta(days=1))
    post_created(api, event("started"))

    assert Deployment.objects.count() == 2
    assert sorted(Deployment.objects.values_list("kind", flat=True)) == [
        "forward",
        "redeployment",
    ]


@pytest.mark.parametrize(
    "changes, attribute",
    [
        ({"projectKey": None}, "projectKey"),
        ({"applicationKey": 12}, "applicationKey"),
        ({"version": "v1; rm -rf /"}, "version"),
        ({"eventType": "rolledBack"}, "eventType"),
        ({"eventTime": "1706701522000"}, "eventTime"),
        ({"eventTime": True}, "eventTime"),
        ({"eventTime": 17067015220.5}, "eventTime"),
        ({"environmentKey": "prod\x00"}, "environmentKey"),
        ({"eventMetadata": {"log": "x" * (patching.MAX_METADATA_BYTES + 1)}}, "eventMetadata"),
        ({"deploymentMetadata": ["buildNumber", "7"]}, "deploymentMetadata"),
        ({"deploymentMetdata": {"buildNumber": "7"}}, "deploymentMetdata"),
        ({"\ud800": 1}, "\\ud800"),  # a lone surrogate, echoed escaped
    ],
)
def test_an_invalid_event_is_refused_naming_the_field(api, changes, attribute):
    response = api.post(PATH, {**event("started", eventTime=T0), **changes})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request"
    assert [error["attribute"] for error in body["errors"]] == [attribute]
    assert nothing_recorded()


def test_every_problem_is_listed_in_one_answer(api):
    response = api.post(PATH, {"version": "1 0", "eventType": "custom", "eventTime": False})

    assert response.status_code == 400
    assert [error["attribute"] for error in response.json()["errors"]] == [
        "projectKey",
        "environmentKey",
        "applicationKey",
        "version",
        "eventTime",
    ]
    assert {error["reason"] for error in response.json()["errors"][:3]} == {"must be present"}


@pytest.mark.parametrize(
    "raw",
    ["[]", json.dumps([event("started")]), '"started"', "42", "null", "true"],
    ids=["empty-array", "array-of-events", "string", "number", "null", "boolean"],
)
def test_a_body_that_is_not_an_object_is_refused(api, raw):
    response = api.post(PATH, raw=raw)

    assert response.status_code == 400
    assert response.json()["errors"] == [{"attribute": "body", "reason": "must be a JSON object"}]
    assert nothing_recorded()


def test_a_body_that_is_not_json_is_refused(api):
    response = api.post(PATH, raw='{"projectKey": "default",')

    assert response.status_code == 400
    assert response.json()["errors"][0]["attribute"] == "body"
    assert nothing_recorded()


def test_an_end_before_its_start_is_refused(api):
    post_created(api, event("started", eventTime=T0))

    response = api.post(PATH, event("finished", eventTime=T0 - 1))

    assert response.status_code == 400
    assert response.json()["errors"][0]["attribute"] == "eventTime"
    assert Deployment.objects.get().status == "started"


def test_a_reader_token_may_not_post_events(reader_api):
    response = reader_api.post(PATH, event("started", eventTime=T0))

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert nothing_recorded()


def test_posting_events_needs_a_token(anonymous_api):
    response = anonymous_api.post(PATH, event("started", eventTime=T0))

    assert response.status_code == 401
    assert nothing_recorded()


def test_an_unknown_token_is_refused(anonymous_api):
    response = anonymous_api.post(
        PATH, event("started"), headers={"Authorization": "api-not-a-real-token"}
    )

    assert response.status_code == 401
    assert nothing_recorded()


def test_only_post_is_allowed(api):
    response = api.get(PATH)

    assert response.status_code == 405


def test_upstream_mode_forwards_the_event_and_answers_201(api, settings):
    with FaultServer([Answer(status=201)]) as launchdarkly:
        settings.LAUNCHDARKLY_API_TOKEN = "api-upstream-token"
        settings.LAUNCHDARKLY_BASE_URL = launchdarkly.url

        response = api.post(PATH, event("started", eventTime=T0))

    assert response.status_code == 201
    assert len(launchdarkly.received) == 1
    assert nothing_recorded()


def test_upstream_mode_answers_502_when_launchdarkly_is_down(api, settings):
    with FaultServer([Answer(status=503, body={"message": "maintenance"})]) as launchdarkly:
        settings.LAUNCHDARKLY_API_TOKEN = "api-upstream-token"
        settings.LAUNCHDARKLY_BASE_URL = launchdarkly.url

        response = api.post(PATH, event("started", eventTime=T0))

    assert response.status_code == 502
    assert response.json()["code"] == "upstream_unavailable"
    assert nothing_recorded()


def test_the_openapi_description_lists_the_operation_as_launchdarkly_does():
    # Not a LaunchDarkly path, so the plain test client (the API client would refuse it).
    ours = Client().get("/api/v2/openapi.json").json()
    theirs = load_reference("openapi-deployments.json")

    operation = ours["paths"][PATH]["post"]
    assert operation["operationId"] == "createDeploymentEvent"
    assert set(operation["responses"]) == {"201", "400", "401", "403", "404", "429"}
    assert list(operation["requestBody"]["content"]) == ["application/json"]
    [their_operation] = theirs["paths"][PATH].values()
    assert set(operation["responses"]) == set(their_operation["responses"])
    schema = ours["components"]["schemas"]["PostDeploymentEventInput"]
    expected = theirs["components"]["schemas"]["PostDeploymentEventInput"]
    assert set(schema["properties"]) == set(expected["properties"])
    assert set(schema["required"]) == set(expected["required"])
    for name in ("eventType", "applicationKind"):
        ref = schema["properties"][name]["allOf"][0]["$ref"].rsplit("/", 1)[-1]
        assert ours["components"]["schemas"][ref]["enum"] == expected["properties"][name]["enum"]


def post_at_once(token, bodies):
    """Posts each body from its own thread and connection, all released together."""
    barrier = threading.Barrier(len(bodies))
    statuses = []

    def post(body):
        try:
            api = LaunchDarklyClient(Client(), token)
            barrier.wait()
            statuses.append(api.post(PATH, body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_two_pipelines_finishing_at_once_leave_exactly_one_active(writer_token):
    for round_ in range(4):
        bodies = [event("finished", f"r{round_}-{name}") for name in ("a", "b")]

        statuses = post_at_once(writer_token, bodies)

        assert statuses == [201, 201]
        assert Deployment.objects.filter(**SCOPE).count() == 2 * (round_ + 1)
        assert Deployment.objects.filter(**SCOPE, active=True).count() == 1
