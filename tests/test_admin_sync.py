"""Sync scopes in the admin portal: their health, and "Sync now"."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from deployments import roles
from deployments.models import SyncRun, SyncScope
from tests.fault_server import Answer, FaultServer

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/deployments/syncscope/"


@pytest.fixture
def admin_client():
    user = get_user_model().objects.create_user("root", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMIN))
    client = Client()
    client.force_login(user)
    return client


def test_the_changelist_shows_each_scopes_health(admin_client, make_deployment):
    scope = SyncScope.objects.create(project_key="default", environment_key="production")
    make_deployment(project_key="default")
    SyncRun.objects.create(
        scope=scope,
        range_from=timezone.now(),
        range_to=timezone.now(),
        status=SyncRun.Status.FAILED,
        fetched=120,
        created=100,
        updated=15,
        unchanged=5,
        rate_limit_waits=2,
        waited_seconds=12,
        error="LaunchDarkly answered 503: maintenance",
    )

    page = admin_client.get(CHANGELIST).content.decode()

    assert "default/production" in page
    assert "Failed at" in page and "maintenance" in page
    assert "120 / 100 / 15 / 5 / 0; 2 rate-limit waits (12 s)" in page
    assert '<td class="field-cached">1</td>' in page


def test_sync_now_in_local_mode_says_what_is_missing(admin_client, settings):
    settings.LAUNCHDARKLY_API_TOKEN = ""
    scope = SyncScope.objects.create(project_key="default", environment_key="production")

    response = admin_client.post(
        CHANGELIST, {"action": "sync_now", "_selected_action": [scope.pk]}, follow=True
    )

    assert "Sync needs upstream mode" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_sync_now_runs_a_sync_through_the_tasks_framework(admin_client, settings):
    empty = {"totalCount": 0, "items": [], "_links": {}}
    with FaultServer([Answer(body=empty)]) as launchdarkly:
        settings.LAUNCHDARKLY_API_TOKEN = "api-token"
        settings.LAUNCHDARKLY_BASE_URL = launchdarkly.url
        scope = SyncScope.objects.create(project_key="default", environment_key="production")

        response = admin_client.post(
            CHANGELIST, {"action": "sync_now", "_selected_action": [scope.pk]}, follow=True
        )

    assert "Queued a sync of 1 scope" in response.content.decode()
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert launchdarkly.received[0].query["projectKey"] == ["default"]


def test_viewers_do_not_see_sync_scopes(client):
    viewer = get_user_model().objects.create_user("viewer")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    client.force_login(viewer)

    assert client.get(CHANGELIST).status_code == 302
