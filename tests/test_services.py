import pytest
from django.contrib.auth import get_user_model

from deployments.errors import (
    InvalidRequest,
    NotFound,
    OptimisticLockingError,
    PatchFailed,
)
from deployments.models import Change, Deployment
from deployments.representation import deployment_rep
from deployments.services import deployment_revert, deployment_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def captain():
    return get_user_model().objects.create_user("captain", password="x")


def test_update_applies_patch_and_records_change(make_deployment, captain):
    deployment = make_deployment(status="started")
    deployment.ended_at = None
    deployment.save()
    ended_at = 1706712518000

    change = deployment_update(
        deployment_id=deployment.id,
        patch=[
            {"op": "test", "path": "/status", "value": "started"},
            {"op": "replace", "path": "/status", "value": "finished"},
            {"op": "add", "path": "/endedAt", "value": ended_at},
        ],
        actor=captain,
        reason="pipeline hung after deploy",
        source=Change.Source.PAGE,
    )

    deployment.refresh_from_db()
    assert deployment.status == "finished"
    assert deployment.duration_ms == ended_at - deployment_rep(deployment)["startedAt"]
    assert change.outcome == Change.Outcome.APPLIED
    assert (change.actor, change.actor_label, change.source) == (captain, "captain", "page")
    assert change.reason == "pipeline hung after deploy"
    assert change.before["status"] == "started" and "endedAt" not in change.before
    assert change.after == deployment_rep(deployment)


def test_failed_test_mid_patch_changes_nothing_and_is_recorded(make_deployment, captain):
    deployment = make_deployment()
    before = deployment_rep(deployment)

    with pytest.raises(OptimisticLockingError) as raised:
        deployment_update(
            deployment_id=deployment.id,
            patch=[
                {"op": "replace", "path": "/archived", "value": True},
                {"op": "add", "path": "/metadata/note", "value": "x"},
                {"op": "test", "path": "/status", "value": "started"},
                {"op": "replace", "path": "/status", "value": "failed"},
            ],
            actor=captain,
        )

    deployment.refresh_from_db()
    assert deployment_rep(deployment) == before
    change = Change.objects.get()
    assert change.outcome == Change.Outcome.CONFLICT
    assert change.error_code == "optimistic_locking_error"
    assert "/status" in raised.value.message
    assert change.after is None


def test_policy_violation_reports_each_operation_and_changes_nothing(make_deployment, captain):
    deployment = make_deployment()
    before = deployment_rep(deployment)

    with pytest.raises(InvalidRequest) as raised:
        deployment_update(
            deployment_id=deployment.id,
            patch=[
                {"op": "replace", "path": "/applicationKey", "value": "other"},
                {"op": "replace", "path": "/status", "value": "finished"},
                {"op": "replace", "path": "/active", "value": "yes"},
            ],
            actor=captain,
        )

    assert {error["attribute"] for error in raised.value.errors} == {"/applicationKey", "/active"}
    deployment.refresh_from_db()
    assert deployment_rep(deployment) == before
    change = Change.objects.get()
    assert change.outcome == Change.Outcome.REJECTED
    assert change.error_details == raised.value.errors


def test_unapplicable_patch_is_422(make_deployment, captain):
    deployment = make_deployment()

    with pytest.raises(PatchFailed):
        deployment_update(
            deployment_id=deployment.id,
            patch=[{"op": "remove", "path": "/metadata/no-such-key"}],
            actor=captain,
        )

    assert Change.objects.get().outcome == Change.Outcome.FAILED


def test_ended_before_started_is_rejected(make_deployment, captain):
    deployment = make_deployment()
    started = deployment_rep(deployment)["startedAt"]

    with pytest.raises(InvalidRequest) as raised:
        deployment_update(
            deployment_id=deployment.id,
            patch=[{"op": "replace", "path": "/endedAt", "value": started - 1}],
            actor=captain,
        )

    assert any(error["attribute"] == "/endedAt" for error in raised.value.errors)
    assert Deployment.objects.get().ended_at > Deployment.objects.get().started_at


def test_unknown_deployment_is_404_and_recorded(captain):
    missing = "00000000-0000-4000-8000-000000000000"

    with pytest.raises(NotFound):
        deployment_update(
            deployment_id=missing,
            patch=[{"op": "replace", "path": "/archived", "value": True}],
            actor=captain,
        )

    assert Change.objects.get().outcome == Change.Outcome.NOT_FOUND


def test_malformed_id_is_404(captain):
    with pytest.raises(NotFound):
        deployment_update(deployment_id="not-a-uuid", patch=[], actor=captain)


def test_hostile_strings_are_recorded_safely(make_deployment):
    deployment = make_deployment()

    with pytest.raises(InvalidRequest):
        deployment_update(
            deployment_id=deployment.id,
            patch=[{"op": "add", "path": "/metadata/x", "value": "nul\x00 and \ud800 lone"}],
            actor="ci-pipeline",
        )

    change = Change.objects.get()
    assert change.actor is None and change.actor_label == "ci-pipeline"
    assert "\x00" not in change.patch[0]["value"]


def test_revert_restores_before_and_revert_of_revert_reapplies(make_deployment, captain):
    deployment = make_deployment()
    original = deployment_rep(deployment)
    edit = deployment_update(
        deployment_id=deployment.id,
        patch=[
            {"op": "replace", "path": "/archived", "value": True},
            {"op": "remove", "path": "/metadata/buildNumber"},
            {"op": "add", "path": "/metadata/a~1b", "value": {"nested": [1, 2]}},
        ],
        actor=captain,
    )

    revert = deployment_revert(change_id=edit.pk, actor=captain)

    assert revert.source == Change.Source.REVERT and revert.reverts == edit
    assert revert.after == original
    again = deployment_revert(change_id=revert.pk, actor=captain, reason="archive after all")
    assert again.after == edit.after
    assert again.reason == "archive after all"


def test_revert_refuses_to_overwrite_newer_edits(make_deployment, captain):
    deployment = make_deployment()
    edit = deployment_update(
        deployment_id=deployment.id,
        patch=[{"op": "replace", "path": "/status", "value": "failed"}],
        actor=captain,
    )
    deployment_update(
        deployment_id=deployment.id,
        patch=[{"op": "replace", "path": "/status", "value": "finished"}],
        actor=captain,
    )

    with pytest.raises(OptimisticLockingError) as raised:
        deployment_revert(change_id=edit.pk, actor=captain)

    assert "changed after change" in raised.value.message
    assert Deployment.objects.get().status == "finished"


def test_only_applied_changes_can_be_reverted(make_deployment, captain):
    deployment = make_deployment()
    with pytest.raises(InvalidRequest):
        deployment_update(
            deployment_id=deployment.id,
            patch=[{"op": "replace", "path": "/id", "value": "x"}],
            actor=captain,
        )

    with pytest.raises(InvalidRequest):
        deployment_revert(change_id=Change.objects.get().pk, actor=captain)
    with pytest.raises(NotFound):
        deployment_revert(change_id=999999, actor=captain)
