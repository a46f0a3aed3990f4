"""The deployment-event service: pipelines' events become deployments and timelines.

The rules under test are in `deployments/events.py`'s docstring. Times are explicit
epoch milliseconds unless a test is about the default ("when it is processed").
"""

import functools
import json
from datetime import timedelta

import pytest
from django.db.models import F

from deployments import patching
from deployments.errors import InvalidRequest, NotFound
from deployments.events import (
    DUPLICATE_WINDOW,
    deployment_event_record,
)
from deployments.models import Change, Deployment, DeploymentEvent
from deployments.representation import MAX_MILLIS, deployment_rep, from_millis
from tests.fault_server import Answer, FaultServer
from tests.schema import assert_valid
from tests.threads import run_in_threads

pytestmark = pytest.mark.django_db

T0 = 1_706_700_000_000
MINUTE = 60_000
SCOPE = {"project_key": "default", "environment_key": "production", "application_key": "billing"}


def event(event_type, version="v1", **fields):
    body = {
        "projectKey": "default",
        "environmentKey": "production",
        "applicationKey": "billing",
        "version": version,
        "eventType": event_type,
    }
    body.update(fields)
    return body


def record(event_type, version="v1", **fields):
    return deployment_event_record(event=event(event_type, version, **fields), actor="ci")


def history():
    """The application's deployments in production, newest first (the list order)."""
    return list(Deployment.objects.filter(**SCOPE))


def timeline(deployment):
    return [e.event_type for e in deployment.events.all()]


def age_events(by):
    DeploymentEvent.objects.update(received_at=F("received_at") - by)


# ---------------------------------------------------------------------------
# started, finished, failed


def test_started_opens_a_forward_deployment_and_stores_the_event():
    outcome = record(
        "started",
        eventTime=T0,
        applicationName="Billing Service",
        applicationKind="browser",
        versionName="v1.0.0",
        eventMetadata={"runner": "gh-17"},
        deploymentMetadata={"buildNumber": "1234"},
    )

    deployment = Deployment.objects.get()
    assert outcome.deployment == deployment and outcome.opened and not outcome.duplicate
    assert (deployment.status, deployment.kind, deployment.active) == ("started", "forward", False)
    assert deployment.started_at == from_millis(T0)
    assert deployment.ended_at is None and deployment.duration_ms is None
    assert deployment.metadata == {"buildNumber": "1234"}
    assert (deployment.number_of_pull_requests, deployment.lead_time_ms) == (0, 0)
    stored = DeploymentEvent.objects.get()
    assert stored == outcome.event
    assert (stored.deployment, stored.event_type, stored.event_time) == (
        deployment,
        "started",
        from_millis(T0),
    )
    assert (stored.application_name, stored.application_kind, stored.version_name) == (
        "Billing Service",
        "browser",
        "v1.0.0",
    )
    assert stored.event_metadata == {"runner": "gh-17"}
    assert len(stored.fingerprint) == 64
    assert_valid(deployment_rep(deployment), "DeploymentRep")


def test_event_without_event_time_happens_now_and_defaults_to_a_server_application():
    outcome = record("started")

    stored = outcome.event
    assert stored.application_kind == "server"
    assert abs(stored.event_time - stored.received_at) < timedelta(seconds=5)
    assert stored.event_time.microsecond % 1000 == 0  # whole milliseconds, as the API says
    assert outcome.deployment.started_at == stored.event_time


def test_finished_closes_the_latest_open_deployment_of_its_version():
    record("started", "v1", eventTime=T0)
    record("started", "v1", eventTime=T0 + MINUTE)  # the pipeline ran twice
    record("started", "v2", eventTime=T0 + 2 * MINUTE)

    outcome = record("finished", "v1", eventTime=T0 + 5 * MINUTE)

    v2, latest_v1, earliest_v1 = history()
    assert outcome.deployment == latest_v1 and not outcome.opened
    assert latest_v1.status == "finished"
    assert latest_v1.ended_at == from_millis(T0 + 5 * MINUTE)
    assert latest_v1.duration_ms == 4 * MINUTE
    assert timeline(latest_v1) == ["started", "finished"]
    assert (earliest_v1.status, v2.status) == ("started", "started")


@pytest.mark.parametrize("event_type", ["finished", "failed"])
def test_end_without_started_creates_a_closed_deployment_starting_when_it_ends(event_type):
    outcome = record(event_type, eventTime=T0, deploymentMetadata={"buildNumber": "7"})

    deployment = Deployment.objects.get()
    assert outcome.opened
    assert (deployment.status, deployment.kind) == (event_type, "forward")
    assert deployment.started_at == deployment.ended_at == from_millis(T0)
    assert deployment.duration_ms == 0
    assert deployment.active is (event_type == "finished")
    assert deployment.metadata == {"buildNumber": "7"}
    assert timeline(deployment) == [event_type]


def test_end_before_the_open_deployments_start_is_refused_and_changes_nothing():
    record("started", eventTime=T0 + MINUTE)

    with pytest.raises(InvalidRequest) as raised:
        record("finished", eventTime=T0)

    assert raised.value.errors == [
        {
            "attribute": "eventTime",
            "reason": f"must not be before the open deployment's start ({T0 + MINUTE})",
        }
    ]
    deployment = Deployment.objects.get()
    assert (deployment.status, deployment.ended_at, deployment.active) == ("started", None, False)
    assert DeploymentEvent.objects.count() == 1


# ---------------------------------------------------------------------------
# active


def test_finished_makes_it_the_only_active_deployment_of_its_application_there():
    elsewhere = record("finished", eventTime=T0, environmentKey="staging").deployment
    other_app = record("finished", eventTime=T0, applicationKey="ledger").deployment
    first = record("finished", "v1", eventTime=T0 + MINUTE).deployment
    assert Deployment.objects.get(pk=first.pk).active

    second = record("finished", "v2", eventTime=T0 + 2 * MINUTE).deployment

    active = {d.pk for d in Deployment.objects.filter(active=True)}
    assert active == {second.pk, elsewhere.pk, other_app.pk}


def test_failed_changes_no_active_flag():
    running = record("finished", "v1", eventTime=T0).deployment
    record("started", "v2", eventTime=T0 + MINUTE)

    failed = record("failed", "v2", eventTime=T0 + 2 * MINUTE).deployment

    assert not Deployment.objects.get(pk=failed.pk).active
    assert Deployment.objects.get(pk=running.pk).active


def test_late_finished_event_of_a_deployment_already_superseded_does_not_take_over():
    record("started", "v1", eventTime=T0)
    record("started", "v2", eventTime=T0 + MINUTE)
    newer = record("finished", "v2", eventTime=T0 + 3 * MINUTE).deployment

    # v1's finished event ended before v2's did, but arrives after it.
    late = record("finished", "v1", eventTime=T0 + 2 * MINUTE).deployment

    assert Deployment.objects.get(pk=late.pk).status == "finished"
    assert not Deployment.objects.get(pk=late.pk).active
    assert Deployment.objects.get(pk=newer.pk).active


def test_imported_data_with_several_active_deployments_ends_with_one(make_deployment):
    for version in ("v1", "v2"):
        make_deployment(
            applicationKey="billing",
            environmentKey="production",
            applicationVersion=version,
            startedAt=T0 - 2 * MINUTE,
            endedAt=T0 - MINUTE,
            durationMs=MINUTE,
            active=True,
        )

    latest = record("finished", "v3", eventTime=T0).deployment

    assert list(Deployment.objects.filter(**SCOPE, active=True)) == [latest]


# ---------------------------------------------------------------------------
# kind


def test_kind_follows_the_applications_history_in_the_environment():
    kinds = []
    for version, start in [("v1", 0), ("v2", 2), ("v2", 4), ("v1", 6), ("v3", 8)]:
        record("started", version, eventTime=T0 + start * MINUTE)
        kinds.append(record("finished", version, eventTime=T0 + (start + 1) * MINUTE))

    assert [outcome.deployment.kind for outcome in kinds] == [
        "forward",  # v1: new here
        "forward",  # v2: new here
        "redeployment",  # v2 again, on top of v2
        "rollback",  # back to v1 after v2
        "forward",  # v3: new here
    ]


def test_going_back_to_the_running_version_after_a_failed_one_is_a_rollback():
    record("finished", "v1", eventTime=T0)
    record("started", "v2", eventTime=T0 + MINUTE)
    record("failed", "v2", eventTime=T0 + 2 * MINUTE)

    outcome = record("started", "v1", eventTime=T0 + 3 * MINUTE)

    assert outcome.deployment.kind == "rollback"


def test_kind_counts_only_deployments_that_started_before_the_event():
    record("finished", "v1", eventTime=T0 + 10 * MINUTE)
    record("finished", "v2", eventTime=T0 + 11 * MINUTE)

    # A backfilled event from before both.
    outcome = record("started", "v1", eventTime=T0)

    assert outcome.deployment.kind == "forward"


def test_kind_ignores_other_environments_and_applications():
    record("finished", "v1", eventTime=T0, environmentKey="staging")
    record("finished", "v1", eventTime=T0, applicationKey="ledger")

    assert record("started", "v1", eventTime=T0 + MINUTE).deployment.kind == "forward"


# ---------------------------------------------------------------------------
# metadata and custom events


def test_deployment_metadata_merges_shallowly_on_every_event_type():
    record("started", eventTime=T0, deploymentMetadata={"a": 1, "b": 1, "build": {"n": 1, "x": 1}})
    record("custom", eventTime=T0 + 1, deploymentMetadata={"b": 2, "c": 3})
    record("custom", eventTime=T0 + 2)  # no deploymentMetadata: nothing to merge
    record("finished", eventTime=T0 + 3, deploymentMetadata={"c": 4, "build": {"n": 2}})

    deployment = Deployment.objects.get()
    assert deployment.metadata == {"a": 1, "b": 2, "c": 4, "build": {"n": 2}}
    assert timeline(deployment) == ["started", "custom", "custom", "finished"]


def test_merge_that_outgrows_the_metadata_bound_is_refused_and_changes_nothing():
    half = "x" * (patching.MAX_METADATA_BYTES // 2 + 100)
    record("started", eventTime=T0, deploymentMetadata={"a": half})

    with pytest.raises(InvalidRequest) as raised:
        record("finished", eventTime=T0 + MINUTE, deploymentMetadata={"b": half})

    [error] = raised.value.errors
    assert error["attribute"] == "deploymentMetadata"
    assert "larger than 64 KiB" in error["reason"]
    deployment = Deployment.objects.get()
    assert (deployment.status, deployment.metadata) == ("started", {"a": half})
    assert timeline(deployment) == ["started"]


def test_custom_event_joins_the_timeline_of_the_latest_deployment_of_its_version():
    record("started", "v1", eventTime=T0)
    record("finished", "v1", eventTime=T0 + MINUTE)
    record("started", "v1", eventTime=T0 + 2 * MINUTE)
    record("started", "v2", eventTime=T0 + 3 * MINUTE)

    outcome = record(
        "custom", "v1", eventTime=T0 + 4 * MINUTE, eventMetadata={"check": "smoke passed"}
    )

    v2, redeploy, first = history()
    assert outcome.deployment == redeploy and not outcome.opened
    assert timeline(redeploy) == ["started", "custom"]
    assert redeploy.events.get(event_type="custom").event_metadata == {"check": "smoke passed"}
    assert (timeline(first), timeline(v2)) == (["started", "finished"], ["started"])
    assert redeploy.status == "started"  # a custom event changes no status


def test_custom_event_for_a_version_never_deployed_there_is_not_found():
    record("finished", "v1", eventTime=T0)

    with pytest.raises(NotFound) as raised:
        record("custom", "v2", eventTime=T0 + MINUTE)

    assert "'v2'" in raised.value.message and "'billing'" in raised.value.message
    assert "default/production" in raised.value.message
    assert DeploymentEvent.objects.count() == 1


# ---------------------------------------------------------------------------
# idempotency


def test_the_same_event_with_an_event_time_sent_twice_creates_nothing_new():
    first = record("started", eventTime=T0, deploymentMetadata={"b": 1})
    record("finished", eventTime=T0 + MINUTE)

    # Retried a day later, spelled differently: other key order, the default made explicit.
    age_events(timedelta(days=1))
    body = dict(reversed(event("started", eventTime=T0, deploymentMetadata={"b": 1}).items()))
    again = deployment_event_record(event={**body, "applicationKind": "server"}, actor="ci")

    assert again.duplicate and not again.opened
    assert (again.deployment, again.event) == (first.deployment, first.event)
    assert Deployment.objects.count() == 1 and DeploymentEvent.objects.count() == 2
    assert Deployment.objects.get().status == "finished"


def test_a_retried_end_event_does_not_create_a_second_closed_deployment():
    record("started", eventTime=T0)
    record("finished", eventTime=T0 + MINUTE)

    again = record("finished", eventTime=T0 + MINUTE)

    assert again.duplicate
    assert Deployment.objects.count() == 1 and DeploymentEvent.objects.count() == 2


def test_the_same_body_without_event_time_is_a_duplicate_only_within_the_window():
    first = record("started")
    retried = record("started")
    assert retried.duplicate and retried.deployment == first.deployment
    assert Deployment.objects.count() == 1

    age_events(DUPLICATE_WINDOW + timedelta(minutes=1))
    redeployed = record("started")

    assert not redeployed.duplicate and redeployed.opened
    assert redeployed.deployment.kind == "redeployment"
    assert Deployment.objects.count() == 2 and DeploymentEvent.objects.count() == 2


def test_events_that_differ_in_anything_are_not_duplicates():
    record("started", eventTime=T0)
    record("custom", eventTime=T0 + 1, eventMetadata={"check": 1})
    record("custom", eventTime=T0 + 1, eventMetadata={"check": 2})
    record("custom", eventTime=T0 + 1, eventMetadata={"check": 2}, versionName="1.0")
    record("started", eventTime=T0, environmentKey="staging")

    assert DeploymentEvent.objects.count() == 5


# ---------------------------------------------------------------------------
# validation

VALID = event("started", eventTime=T0)
DEEP = functools.reduce(lambda inner, _: [inner], range(patching.MAX_DEPTH + 1), 1)


@pytest.mark.parametrize(
    "changes, attribute, reason",
    [
        ({"projectKey": None}, "projectKey", "must be present"),
        ({"versionName": None}, "versionName", "must be a string"),
        ({"applicationKind": None}, "applicationKind", "must be one of"),
        ({"eventTime": None}, "eventTime", "must be an integer"),
        ({"deploymentMetadata": None}, "deploymentMetadata", "must be a JSON object"),
        ({"projectKey": 7}, "projectKey", "must be a string"),
        ({"environmentKey": ""}, "environmentKey", "must not be empty"),
        ({"applicationKey": "a" * 257}, "applicationKey", "must be at most 256 characters"),
        ({"projectKey": "de\x00fault"}, "projectKey", "must not contain NUL characters"),
        ({"version": "v 1"}, "version", "must hold only letters, digits"),
        ({"version": "v1/evil"}, "version", "must hold only letters, digits"),
        ({"version": "v1é"}, "version", "must hold only letters, digits"),
        ({"version": ""}, "version", "must not be empty"),
        ({"version": 1.0}, "version", "must be a string"),
        ({"eventType": "deployed"}, "eventType", "must be one of started, failed, finished"),
        ({"eventType": ["started"]}, "eventType", "must be one of"),
        ({"applicationKind": "desktop"}, "applicationKind", "must be one of server, browser"),
        ({"applicationName": "\ud800"}, "applicationName", "must not contain lone surrogates"),
        ({"versionName": "v" * 257}, "versionName", "must be at most 256 characters"),
        ({"eventTime": "1706701522000"}, "eventTime", "not a string"),
        ({"eventTime": True}, "eventTime", "must be an integer of epoch milliseconds"),
        ({"eventTime": 1706701522000.5}, "eventTime", "must be an integer"),
        ({"eventTime": -1}, "eventTime", "between 0 and"),
        ({"eventTime": MAX_MILLIS + 1}, "eventTime", "between 0 and"),
        ({"eventMetadata": []}, "eventMetadata", "must be a JSON object"),
        ({"deploymentMetadata": "build 7"}, "deploymentMetadata", "must be a JSON object"),
        (
            {"eventMetadata": {"log": "x" * patching.MAX_METADATA_BYTES}},
            "eventMetadata",
            "must not be larger than 64 KiB",
        ),
        ({"deploymentMetadata": {"a": "\x00"}}, "deploymentMetadata", "NUL"),
        ({"deploymentMetadata": {"a": DEEP}}, "deploymentMetadata", "nested deeper"),
        ({"deploymentMetdata": {"b": 1}}, "deploymentMetdata", "is not a field"),
    ],
)
def test_invalid_event_is_refused_naming_the_field(changes, attribute, reason):
    with pytest.raises(InvalidRequest) as raised:
        deployment_event_record(event={**VALID, **changes}, actor="ci")

    [error] = raised.value.errors
    assert error["attribute"] == attribute
    assert reason in error["reason"]
    assert not Deployment.objects.exists() and not DeploymentEvent.objects.exists()


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidRequest) as raised:
        deployment_event_record(
            event={"version": "1 0", "eventTime": "now", "extra": 1, "eventType": "custom"},
            actor="ci",
        )

    assert raised.value.errors == [
        {"attribute": "extra", "reason": "is not a field of a deployment event"},
        {"attribute": "projectKey", "reason": "must be present"},
        {"attribute": "environmentKey", "reason": "must be present"},
        {"attribute": "applicationKey", "reason": "must be present"},
        {
            "attribute": "version",
            "reason": (
                "must hold only letters, digits, periods (.), hyphens (-) and underscores (_)"
            ),
        },
        {
            "attribute": "eventTime",
            "reason": "must be an integer of epoch milliseconds, not a string",
        },
    ]
    assert raised.value.message.startswith("Invalid deployment event: extra is not a field")
    assert raised.value.message.endswith("and 3 more")


def test_unknown_field_names_are_echoed_escaped_and_shortened():
    with pytest.raises(InvalidRequest) as raised:
        deployment_event_record(event={**VALID, "\ud800x": 1, "k" * 500: 1}, actor="ci")

    surrogate, long = raised.value.errors
    assert surrogate["attribute"] == "\\ud800x"
    assert len(long["attribute"]) == 64 and long["attribute"].endswith("…")


@pytest.mark.parametrize("body", [[VALID], "started", 42, None])
def test_an_event_that_is_not_an_object_is_refused(body):
    with pytest.raises(InvalidRequest) as raised:
        deployment_event_record(event=body, actor="ci")

    assert raised.value.errors == [{"attribute": "body", "reason": "must be a JSON object"}]


# ---------------------------------------------------------------------------
# modes and history


def test_upstream_mode_forwards_events_and_records_nothing_here(settings, monkeypatch):
    with FaultServer([Answer(status=201)]) as launchdarkly:
        settings.LAUNCHDARKLY_API_TOKEN = "api-upstream-token"
        settings.LAUNCHDARKLY_BASE_URL = launchdarkly.url
        body = event("started", eventTime=T0)

        assert deployment_event_record(event=body, actor="ci") is None
        # Validation still comes first: a bad body is a bad body in any mode.
        with pytest.raises(InvalidRequest):
            record("started", eventTime="soon")

    (request,) = launchdarkly.received
    assert (request.method, request.path) == (
        "POST",
        "/api/v2/engineering-insights/deployment-events",
    )
    assert json.loads(request.body) == body
    assert request.headers["Authorization"] == "api-upstream-token"
    assert not Deployment.objects.exists() and not DeploymentEvent.objects.exists()


def test_upstream_mode_passes_on_launchdarklys_refusal(settings):
    refusal = {"code": "invalid_request", "message": "bad", "errors": []}
    with FaultServer([Answer(status=400, body=refusal)]) as launchdarkly:
        settings.LAUNCHDARKLY_API_TOKEN = "api-upstream-token"
        settings.LAUNCHDARKLY_BASE_URL = launchdarkly.url

        with pytest.raises(InvalidRequest) as raised:
            record("started", eventTime=T0)

    assert "bad" in raised.value.message


def test_events_write_no_change_log_their_rows_are_the_history():
    record("started", eventTime=T0)
    record("custom", eventTime=T0 + 1, deploymentMetadata={"a": 1})
    record("finished", eventTime=T0 + 2)

    assert not Change.objects.exists()
    assert timeline(Deployment.objects.get()) == ["started", "custom", "finished"]


# ---------------------------------------------------------------------------
# concurrency: real threads, real transactions, one connection each


THREADS = 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_finished_events_for_several_versions_leave_exactly_one_active():
    for round_ in range(3):
        outcomes, failures = run_in_threads(
            lambda index, r=round_: record("finished", f"r{r}-v{index}"), THREADS
        )

        assert failures == [] and len(outcomes) == THREADS
        active = list(Deployment.objects.filter(**SCOPE, active=True))
        assert len(active) == 1
        # And it is the one that finished last.
        assert active[0].ended_at == max(d.ended_at for d in Deployment.objects.filter(**SCOPE))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fields", [{}, {"eventTime": T0}], ids=["now", "explicit-time"])
@pytest.mark.parametrize("event_type", ["started", "finished"])
def test_concurrent_retries_of_one_event_record_it_once(event_type, fields):
    outcomes, failures = run_in_threads(lambda index: record(event_type, **fields), THREADS)

    assert failures == []
    assert sorted(outcome.duplicate for outcome in outcomes) == [False] + [True] * (THREADS - 1)
    assert Deployment.objects.count() == 1 and DeploymentEvent.objects.count() == 1
