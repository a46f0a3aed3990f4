"""Upstream mode: edits go to LaunchDarkly (here a scripted server on 127.0.0.1) and
what it returns replaces the cached deployment; its failures become this API's errors
and change nothing in the cache."""

import json

import pytest

from deployments import upstream
from deployments.errors import (
    InvalidRequest,
    NotFound,
    OptimisticLockingError,
    RateLimited,
    UpstreamFailed,
)
from deployments.models import Change, Deployment
from deployments.representation import deployment_rep
from deployments.services import deployment_update
from tests.fault_server import Answer, FaultServer

pytestmark = pytest.mark.django_db
TOKEN = "api-upstream-secret-0123456789"
FINISH = [
    {"op": "test", "path": "/status", "value": "started"},
    {"op": "replace", "path": "/status", "value": "finished"},
]


@pytest.fixture
def launchdarkly(settings, monkeypatch):
    with FaultServer() as server:
        settings.LAUNCHDARKLY_API_TOKEN = TOKEN
        settings.LAUNCHDARKLY_BASE_URL = server.url
        monkeypatch.setattr(upstream, "DEFAULT_TIMEOUT", (1.0, 0.5))
        yield server


@pytest.fixture
def started(make_deployment):
    return make_deployment(status="started")


def returned(deployment, **changes):
    return {**deployment_rep(deployment), **changes}


def test_an_edit_is_sent_upstream_and_the_answer_cached(launchdarkly, started):
    launchdarkly.script(Answer(body=returned(started, status="finished", kind="rollback")))

    change = deployment_update(
        deployment_id=started.id, patch=FINISH, actor="ci", reason="pipeline hung"
    )

    request = launchdarkly.received[0]
    assert (request.method, request.path) == (
        "PATCH",
        f"/api/v2/engineering-insights/deployments/{started.id}",
    )
    assert json.loads(request.body) == {"comment": "pipeline hung", "patch": FINISH}
    assert request.headers["Authorization"] == TOKEN
    stored = Deployment.objects.get(pk=started.id)
    # What LaunchDarkly returned wins, including what the patch did not ask for.
    assert (stored.status, stored.kind) == ("finished", "rollback")
    assert stored.pull_request_links.count() == 1  # not expanded: left alone
    assert (change.mode, change.outcome, change.upstream_status) == ("upstream", "applied", 200)
    assert change.before["status"] == "started" and change.after["status"] == "finished"
    assert TOKEN not in json.dumps([change.patch, change.before, change.after, change.reason])


@pytest.mark.parametrize(
    ("status", "error_type", "outcome"),
    [
        (400, InvalidRequest, Change.Outcome.REJECTED),
        (404, NotFound, Change.Outcome.NOT_FOUND),
        (409, OptimisticLockingError, Change.Outcome.CONFLICT),
    ],
)
def test_launchdarklys_refusals_pass_on_and_change_nothing(
    launchdarkly, started, status, error_type, outcome
):
    before = deployment_rep(started)
    errors = [{"attribute": "/status", "reason": "no"}]
    launchdarkly.script(
        Answer(status=status, body={"code": "x", "message": "no", "errors": errors})
    )

    with pytest.raises(error_type):
        deployment_update(deployment_id=started.id, patch=FINISH, actor="ci")

    assert deployment_rep(Deployment.objects.get(pk=started.id)) == before
    change = Change.objects.get()
    assert (change.outcome, change.upstream_status) == (outcome, status)
    assert len(launchdarkly.received) == 1


def test_a_patch_is_not_retried_when_launchdarkly_is_down(launchdarkly, started):
    launchdarkly.script(Answer(status=503, body={"message": "maintenance"}))

    with pytest.raises(UpstreamFailed) as raised:
        deployment_update(deployment_id=started.id, patch=FINISH, actor="ci")

    assert "503" in raised.value.message
    assert len(launchdarkly.received) == 1
    assert Change.objects.get().outcome == Change.Outcome.UPSTREAM_ERROR


def test_rate_limits_pass_on_with_their_wait(launchdarkly, started):
    launchdarkly.script(Answer(status=429, body={}, headers={"Retry-After": "7"}))

    with pytest.raises(RateLimited) as raised:
        deployment_update(deployment_id=started.id, patch=FINISH, actor="ci")

    assert raised.value.headers == {"Retry-After": "7"}


def test_an_edit_whose_answer_is_lost_but_landed_is_cached(launchdarkly, started):
    finished = returned(started, status="finished")
    launchdarkly.script(Answer(body=finished, delay=1.0), Answer(body=finished))

    change = deployment_update(deployment_id=started.id, patch=FINISH, actor="ci")

    assert change.outcome == Change.Outcome.APPLIED
    assert Deployment.objects.get(pk=started.id).status == "finished"
    assert [r.method for r in launchdarkly.received] == ["PATCH", "GET"]


def test_an_edit_whose_answer_is_lost_and_did_not_land_is_an_error(launchdarkly, started):
    launchdarkly.script(Answer(drop=True), Answer(body=returned(started)))

    with pytest.raises(UpstreamFailed) as raised:
        deployment_update(deployment_id=started.id, patch=FINISH, actor="ci")

    assert "was not applied" in raised.value.message
    assert Deployment.objects.get(pk=started.id).status == "started"


def test_a_deployment_not_in_the_cache_is_not_sent(launchdarkly):
    with pytest.raises(NotFound) as raised:
        deployment_update(
            deployment_id="00000000-0000-4000-8000-000000000000", patch=FINISH, actor="ci"
        )

    assert "sync its scope first" in raised.value.message
    assert launchdarkly.received == []


def test_policy_is_checked_before_anything_is_sent(launchdarkly, started):
    with pytest.raises(InvalidRequest):
        deployment_update(
            deployment_id=started.id,
            patch=[{"op": "replace", "path": "/id", "value": "x"}],
            actor="ci",
        )

    assert launchdarkly.received == []
