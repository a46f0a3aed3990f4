"""deployments.postgres: moments read through psycopg's compiled loader equal what
Django's own loader gives, and Django keeps ours on every cursor."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, tzinfo
from types import SimpleNamespace

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.models import Deployment
from deployments.postgres import fast_timestamp_loader
from tests.list_helpers import deployment

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the loader replaces one of Django's PostgreSQL backend; SQLite has none",
    ),
]

ZONES = [UTC, zoneinfo.ZoneInfo("America/St_Johns"), zoneinfo.ZoneInfo("Asia/Kathmandu")]
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(ZONES)
)


def djangos_loader(timezone: tzinfo | None) -> type:
    """The loader class Django's backend registers for `timezone`."""
    context = SimpleNamespace(adapters=psycopg.adapt.AdaptersMap(psycopg.adapters))
    register_tzloader(timezone, context)
    return context.adapters.get_loader(psycopg.postgres.types["timestamptz"].oid, 0)


def read_moments(values: list[datetime], loader: type) -> list[datetime]:
    """`values` sent as text and read back as timestamptz through `loader`."""
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", loader)
        cursor.execute(
            "SELECT v::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
            [[value.isoformat() for value in values]],
        )
        return [row[0] for row in cursor.fetchall()]


def test_every_cursor_reads_moments_with_the_fast_loader():
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(1184, 0)
    assert loader is fast_timestamp_loader(connection.timezone)
    assert loader.timezone is connection.timezone


@settings(max_examples=50, deadline=None)
@given(values=st.lists(MOMENTS, min_size=1, max_size=20))
def test_moments_equal_what_djangos_loader_reads(values):
    fast = read_moments(values, fast_timestamp_loader(connection.timezone))
    djangos = read_moments(values, djangos_loader(connection.timezone))

    assert fast == djangos
    # The same instants as sent (compared in UTC: an aware time in a zone's DST gap
    # equals nothing in another zone, by PEP 495).
    assert fast == [value.astimezone(UTC) for value in values]
    # Not only equal instants: the same timezone object on each, as Django attaches.
    assert [moment.tzinfo for moment in fast] == [moment.tzinfo for moment in djangos]


def test_without_a_timezone_moments_are_naive_as_djangos_are():
    values = [datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)]

    naive = read_moments(values, fast_timestamp_loader(None))

    assert naive == read_moments(values, djangos_loader(None))
    assert naive == [value.replace(tzinfo=None) for value in values]


def test_models_read_the_moments_they_stored():
    started = datetime(2024, 1, 31, 12, 45, 22, 123456, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    stored = deployment(started_at=started, ended_at=None, duration_ms=None)

    read = Deployment.objects.values("started_at", "ended_at").get(id=stored.id)

    assert read == {"started_at": started, "ended_at": None}
    assert read["started_at"].tzinfo is UTC
