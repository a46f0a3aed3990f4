"""`unsaved` builds what `Model(**values)` builds, without `Model.__init__`."""

import uuid
from datetime import UTC, datetime

import pytest

from deployments.models import (
    Deployment,
    DeploymentEvent,
    DeploymentPullRequest,
    FlagReference,
    PullRequest,
    PullRequestFlagReference,
)
from deployments.unsaved import exact, unsaved

MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SOME_VALUES = {
    Deployment: {"id": uuid.uuid4(), "project_key": "p", "started_at": MOMENT, "active": True},
    PullRequest: {"id": uuid.uuid4(), "title": "Fix it", "lines_added": 5},
    DeploymentPullRequest: {"deployment_id": uuid.uuid4(), "pull_request_id": uuid.uuid4()},
    FlagReference: {"deployment_id": uuid.uuid4(), "flag_key": "f", "references_added": 2},
    PullRequestFlagReference: {"pull_request_id": uuid.uuid4(), "flag_key": "f"},
    DeploymentEvent: {"deployment_id": uuid.uuid4(), "event_type": "custom"},
}


def fields(instance):
    return {key: value for key, value in vars(instance).items() if key != "_state"}


@pytest.mark.parametrize("model", list(SOME_VALUES), ids=lambda model: model.__name__)
def test_the_same_fields_and_defaults_as_init(model):
    values = SOME_VALUES[model]

    built, initialised = unsaved(model, **values), model(**values)

    assert fields(built) == fields(initialised)
    assert built._state.adding and built._state.db is None
    assert type(built) is model


def test_a_default_made_per_instance_is_made_for_each():
    first, second = unsaved(Deployment), unsaved(Deployment)

    assert isinstance(first.id, uuid.UUID) and first.id != second.id
    assert first._state is not second._state


def test_exact_takes_the_values_as_they_are():
    built = exact(FlagReference, id=None, flag_key="f")

    assert fields(built) == {"id": None, "flag_key": "f"}
