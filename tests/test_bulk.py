"""bulk.py's shortcuts store exactly what Django's own field preparation stores."""

import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from deployments import bulk
from deployments.models import Deployment, DeploymentEvent, DeploymentPullRequest, PullRequest

ZONES = st.sampled_from(
    [UTC, zoneinfo.ZoneInfo("America/New_York"), zoneinfo.ZoneInfo("Asia/Kolkata")]
)
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none() | ZONES
)

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="the shortcuts are for SQLite; PostgreSQL takes Django's path",
)


@sqlite_only
@given(value=st.none() | MOMENTS)
def test_datetimes_as_djangos_sqlite_backend_stores_them(value):
    field = Deployment._meta.get_field("started_at")

    expected = field.get_db_prep_value(value, connection, prepared=True)

    assert bulk._sqlite_datetime(value, connection.timezone) == expected


@sqlite_only
@given(value=st.none() | st.uuids())
def test_uuids_and_keys_pointing_at_them_as_django_stores_them(value):
    for field in (
        PullRequest._meta.get_field("id"),
        DeploymentPullRequest._meta.get_field("deployment"),
        DeploymentEvent._meta.get_field("deployment"),
    ):
        expected = field.get_db_prep_value(value, connection, prepared=True)
        assert bulk._sqlite_uuid(value, connection.timezone) == expected


@pytest.mark.django_db
def test_rows_written_in_bulk_read_back_equal(make_deployment):
    started = datetime(2026, 3, 29, 1, 30, tzinfo=zoneinfo.ZoneInfo("Europe/London"))
    made = make_deployment(started_at=started, ended_at=started + timedelta(minutes=5))
    copy = Deployment.objects.get(pk=made.pk)
    copy.id, copy.version = uuid.uuid4(), "copy"

    bulk.upsert_rows(Deployment, [copy])

    stored = Deployment.objects.get(pk=copy.id)
    assert (stored.started_at, stored.ended_at) == (made.started_at, made.ended_at)
