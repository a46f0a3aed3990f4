"""The service's promise, for arbitrary patches against a real cached deployment:
a patch applies whole, or it changes nothing but a recorded failed attempt."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployments.cache import cache_graphs
from deployments.errors import DeploymentError, InvalidRequest
from deployments.models import Change, Deployment
from deployments.patching import EDITABLE_FIELDS
from deployments.representation import deployment_rep, parse_deployment
from deployments.services import deployment_update
from tests.test_patching_properties import (
    HOSTILE_OPERATIONS,
    JSON_VALUES,
    attributes_of,
    plausible_operations,
)

pytestmark = pytest.mark.django_db

EDITABLE_ATTRIBUTES = {f"/{field}" for field in EDITABLE_FIELDS}

# The deployment lives across examples (one test transaction), so each example checks
# what it found against what it leaves.
service_examples = settings(
    max_examples=150,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def applied_changes():
    return list(Change.objects.filter(outcome=Change.Outcome.APPLIED).values_list("id", "after"))


def attempt(deployment_id, patch):
    before = deployment_rep(Deployment.objects.get(pk=deployment_id))
    applied = applied_changes()
    attempts = Change.objects.count()
    try:
        change = deployment_update(deployment_id=deployment_id, patch=patch, actor="property")
    except DeploymentError as error:
        assert deployment_rep(Deployment.objects.get(pk=deployment_id)) == before
        assert applied_changes() == applied
        recorded = Change.objects.order_by("-id").first()
        assert Change.objects.count() == attempts + 1
        assert recorded.outcome != Change.Outcome.APPLIED
        assert recorded.error_code == error.code
        if isinstance(error, InvalidRequest):
            # Each error names an operation of the patch, or the field it broke.
            named = {e["attribute"] for e in error.errors}
            assert named <= attributes_of(patch) | EDITABLE_ATTRIBUTES, named
    else:
        assert change.before == before
        assert deployment_rep(Deployment.objects.get(pk=deployment_id)) == change.after
        assert applied_changes() == [*applied, (change.pk, change.after)] or (
            # Ordering is newest first.
            applied_changes() == [(change.pk, change.after), *applied]
        )


@service_examples
@given(patch=st.lists(HOSTILE_OPERATIONS, max_size=5) | JSON_VALUES)
def test_hostile_patch_changes_nothing_or_applies_whole(make_deployment, patch):
    deployment = Deployment.objects.first() or make_deployment()
    attempt(deployment.pk, patch)


@service_examples
@given(data=st.data())
def test_plausible_patch_changes_nothing_or_applies_whole(example_deployment, db, data):
    # Every example starts from the same cached document, so that what is drawn from it
    # does not depend on what earlier examples did (Hypothesis replays draws).
    graph = parse_deployment(example_deployment, project_key="default")
    cache_graphs([graph])
    document = deployment_rep(graph.deployment)
    patch = data.draw(st.lists(plausible_operations(document), min_size=1, max_size=4))
    attempt(graph.deployment.pk, patch)
