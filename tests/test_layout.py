"""The base layout, server side: navigation, who and where, mode, sign-out.

The browser tests (tests/browser/test_layout.py) drive the same layout in Chromium.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, set_script_prefix

from deployments import roles
from deployments.models import SyncRun, SyncScope

pytestmark = pytest.mark.django_db

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)

# A project that has an insights page: the navigation offers it.
urlpatterns = [
    path("insights/", lambda request: HttpResponse("insights"), name="insights"),
    path("", include("dashboard.urls")),
]


@pytest.fixture
def viewer(client):
    user = get_user_model().objects.create_user("vic")
    user.groups.add(Group.objects.get(name=roles.VIEWER))
    client.force_login(user)
    return user


def test_the_navigation_marks_the_current_page_and_shows_no_insights_yet(client, viewer):
    body = client.get("/deployments/").content.decode()

    assert '<a href="/deployments/" aria-current="page">Deployments</a>' in body
    assert "Insights" not in body
    assert 'href="/admin/"' not in body  # not staff
    assert "<title>" in body and "· Deployments dashboard</title>" in body


def test_the_navigation_offers_insights_once_the_url_exists(client, viewer, settings):
    settings.ROOT_URLCONF = __name__

    body = client.get("/").content.decode()

    assert '<a href="/insights/">Insights</a>' in body


def test_the_layouts_links_follow_the_script_prefix(client):
    """The layout's links are reversed once per script prefix, not once for all."""
    client.force_login(get_user_model().objects.create_user("sam", is_staff=True))
    at_root = client.get("/deployments/").content.decode()
    # Behind a proxy that serves the dashboard below a path (Django's handler makes
    # WSGI's SCRIPT_NAME the script prefix; the test client does not).
    set_script_prefix("/dash/")
    try:
        below = client.get("/deployments/").content.decode()
    finally:
        set_script_prefix("/")

    for link in ('href="/"', 'href="/deployments/"', 'href="/admin/"', 'action="/logout/"'):
        assert link in at_root
        assert link.replace('="/', '="/dash/') in below
    assert 'action="/deployments/"' in at_root and 'action="/dash/deployments/"' in below


def test_staff_get_the_admin_link(client):
    client.force_login(get_user_model().objects.create_user("sam", is_staff=True))

    assert 'href="/admin/">Admin</a>' in client.get("/").content.decode()


def test_signing_out_is_a_post_form_with_a_csrf_token(client, viewer):
    body = client.get("/").content.decode()

    assert '<form method="post" action="/logout/"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302  # signed out


def test_the_header_says_local_mode_and_the_timezone(client, viewer, settings):
    settings.TIME_ZONE = "Europe/Berlin"

    body = client.get("/").content.decode()

    assert "local mode" in body and "Europe/Berlin" in body and "synced" not in body


def test_upstream_mode_shows_when_the_last_successful_sync_finished(client, viewer, settings):
    settings.LAUNCHDARKLY_API_TOKEN = "api-token"
    settings.TIME_ZONE = "Europe/Berlin"
    scope = SyncScope.objects.create(project_key="default", environment_key="production")

    def run(status: str, finished: datetime | None) -> None:
        SyncRun.objects.create(
            scope=scope, status=status, finished_at=finished, range_from=EPOCH, range_to=EPOCH
        )

    never = client.get("/deployments/").content.decode()
    run(SyncRun.Status.SUCCEEDED, datetime(2025, 6, 2, 10, 30, tzinfo=UTC))
    run(SyncRun.Status.SUCCEEDED, datetime(2025, 6, 1, 9, 0, tzinfo=UTC))
    run(SyncRun.Status.FAILED, datetime(2025, 6, 3, 8, 0, tzinfo=UTC))  # not a sync
    run(SyncRun.Status.RUNNING, None)
    synced = client.get("/deployments/").content.decode()
    settings.LAUNCHDARKLY_API_TOKEN = ""
    local = client.get("/deployments/").content.decode()

    assert "upstream mode" in never and "synced" not in never
    assert '<time datetime="2025-06-02T12:30:00+02:00">2025-06-02 12:30</time>' in synced
    assert "local mode" in local and "synced" not in local


def test_the_last_sync_costs_one_query_and_only_upstream(client, viewer, settings):
    for token, expected in (("", 0), ("api-token", 1)):
        settings.LAUNCHDARKLY_API_TOKEN = token
        with CaptureQueriesContext(connection) as captured:
            client.get("/")
        assert len([q for q in captured if "syncrun" in q["sql"]]) == expected


@pytest.mark.parametrize(
    ("groups", "shown"),
    [
        ((), None),
        (("other",), None),
        ((roles.VIEWER,), roles.VIEWER),
        ((roles.VIEWER, roles.ADMIN, "other"), roles.ADMIN),
        ((roles.RELEASE_CAPTAIN, roles.VIEWER), roles.RELEASE_CAPTAIN),
    ],
)
def test_the_header_shows_the_users_highest_role(client, groups, shown):
    user = get_user_model().objects.create_user("rory")
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    client.force_login(user)

    body = client.get("/").content.decode()

    who = body[body.index('<span class="who">') :].split("</span>", 2)[1]
    assert who.strip() == (f"rory · {shown}" if shown else "rory")


def test_a_deactivated_user_is_signed_out(client, viewer):
    viewer.is_active = False
    viewer.save()

    assert client.get("/deployments/").status_code == 302
