"""queries.raw: rows read by fixed SQL come back exactly as the ORM's `.values()` gives
them, on SQLite and on PostgreSQL (UUIDs, moments, booleans, JSON, nulls)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deployments.models import Deployment, DeploymentEvent, DeploymentPullRequest, PullRequest
from deployments.queries import DEPLOYMENT_COLUMNS, raw
from tests.list_helpers import deployment, pull_request

pytestmark = pytest.mark.django_db


def every_column_of_deployments() -> list[dict]:
    select = raw.Select.of((Deployment, DEPLOYMENT_COLUMNS))
    return raw.fetch(
        select,
        f"SELECT {raw.columns('d', Deployment, DEPLOYMENT_COLUMNS)}"
        f" FROM {raw.table(Deployment)} d ORDER BY d.id",
    )


def test_deployments_read_raw_equal_their_values():
    deployment(metadata={"buildNumber": 7, "notes": ["ü", {"x": None}]}, archived=True)
    deployment(
        ended_at=None,
        duration_ms=None,
        metadata=None,
        active=True,
        started_at=datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC),
    )
    deployment(metadata="just text", coding_duration_ms=5, total_lead_time_ms=9)

    rows = every_column_of_deployments()

    assert rows == list(Deployment.objects.order_by("id").values(*DEPLOYMENT_COLUMNS))
    assert {type(row["active"]) for row in rows} == {bool}


def test_prefixed_and_computed_columns_and_parameters():
    shipped = deployment()
    pull_request(shipped, title="Add retries", merge_time=None)
    select = raw.Select.of(
        (DeploymentPullRequest, ("deployment_id", "position")),
        (PullRequest, ("title",), "pr__"),
        (None, ("doubled",)),
    )

    rows = raw.fetch(
        select,
        f"SELECT {raw.columns('l', DeploymentPullRequest, ('deployment_id', 'position'))},"
        " p.title, l.position * 2"
        f" FROM {raw.table(DeploymentPullRequest)} l"
        f" JOIN {raw.table(PullRequest)} p ON p.id = l.pull_request_id"
        " WHERE l.deployment_id = %s",
        [raw.parameter(Deployment, "id", shipped.id)],
    )

    assert rows == [
        {"deployment_id": shipped.id, "position": 0, "pr__title": "Add retries", "doubled": 0}
    ]


def test_json_columns_come_back_as_python_values():
    target = deployment()
    DeploymentEvent.objects.create(
        deployment=target,
        event_type="custom",
        event_time=target.started_at,
        event_metadata={"stage": "canary", "percent": 5},
    )
    select = raw.Select.of((DeploymentEvent, ("event_metadata", "event_time")))

    rows = raw.fetch(
        select, f"SELECT e.event_metadata, e.event_time FROM {raw.table(DeploymentEvent)} e"
    )

    assert rows == [
        {"event_metadata": {"stage": "canary", "percent": 5}, "event_time": target.started_at}
    ]


def test_an_unknown_column_is_named():
    with pytest.raises(LookupError, match="Deployment has no column nope"):
        raw.Select.of((Deployment, ("nope",)))
