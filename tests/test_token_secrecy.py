"""The LaunchDarkly token never shows: not in logs, pages, error messages, sync runs or
the change log, even when LaunchDarkly's (or a proxy's) error answer echoes it back.

Each test drives a real path (the client, a sync, an edit through the API, the admin
portal, the sync command) against a scripted server on 127.0.0.1 whose error bodies
quote the request's token, then searches everything a person could read for it.
"""

import io
import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import Client

from deployments import roles, upstream
from deployments.models import Change, SyncRun, SyncScope
from deployments.sync import sync_scope_run
from tests.fault_server import Answer, FaultServer

pytestmark = pytest.mark.django_db
TOKEN = "api-0f1e2d3c-secret-token-4b5a6978"
FINISH = [
    {"op": "test", "path": "/status", "value": "started"},
    {"op": "replace", "path": "/status", "value": "finished"},
]


def echoing(status: int, **extra) -> Answer:
    """An error answer that quotes the token, as a misbehaving proxy might."""
    body = {
        "code": "echo",
        "message": f"request had Authorization: {TOKEN}",
        "errors": [{"attribute": "Authorization", "reason": f"{TOKEN} is not valid here"}],
    }
    return Answer(status=status, body=body, **extra)


ECHOES = [
    pytest.param(echoing(401), id="401"),
    pytest.param(echoing(403), id="403"),
    pytest.param(echoing(400), id="400"),
    pytest.param(echoing(409), id="409"),
    pytest.param(echoing(404), id="404"),
    pytest.param(echoing(500), id="500"),
    # 500 rather than 502-504, which reads retry (with waits) before giving up.
    pytest.param(
        Answer(status=500, body=f"<html>Error for {TOKEN}</html>", content_type="text/html"),
        id="500-html",
    ),
]


@pytest.fixture
def launchdarkly(settings, monkeypatch):
    with FaultServer() as server:
        settings.LAUNCHDARKLY_API_TOKEN = TOKEN
        settings.LAUNCHDARKLY_BASE_URL = server.url
        monkeypatch.setattr(upstream, "DEFAULT_TIMEOUT", (1.0, 0.5))
        yield server


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def everything_logged(caplog) -> str:
    return (
        "\n".join(f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records)
        + caplog.text
    )


@pytest.mark.parametrize("answer", ECHOES)
def test_client_errors_never_carry_the_token(launchdarkly, logs, answer):
    launchdarkly.script(answer)
    client = upstream.client_from_settings()

    with pytest.raises(upstream.UpstreamError) as raised:
        client.get_deployment("00000000-0000-0000-0000-000000000001")

    error = raised.value
    shown = json.dumps([str(error), error.message, getattr(error, "errors", [])])
    assert launchdarkly.received[0].headers["Authorization"] == TOKEN  # it was sent
    assert TOKEN not in shown
    assert TOKEN not in everything_logged(logs)
    assert TOKEN not in repr(client)


@pytest.mark.parametrize("answer", ECHOES)
def test_a_failed_sync_records_no_token(launchdarkly, logs, answer):
    launchdarkly.script(answer)
    scope = SyncScope.objects.create(project_key="default", environment_key="production")

    run = sync_scope_run(scope=scope, client=upstream.client_from_settings(), full=True)

    assert run.status == SyncRun.Status.FAILED
    assert run.error  # the failure is said...
    assert TOKEN not in run.error  # ...without the token
    assert TOKEN not in everything_logged(logs)


def test_the_sync_command_and_admin_portal_show_no_token(launchdarkly, logs):
    launchdarkly.script(echoing(401))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("sync_deployments", "--scope", "default/production", stdout=out, stderr=err)

    assert "refused the token" in err.getvalue()
    assert TOKEN not in out.getvalue() + err.getvalue() + str(raised.value)
    admin = get_user_model().objects.create_user("root", is_staff=True)
    admin.groups.add(Group.objects.get(name=roles.ADMIN))
    browser = Client()
    browser.force_login(admin)
    scope = SyncScope.objects.get()
    pages = [
        browser.get("/admin/deployments/syncscope/"),
        browser.get(f"/admin/deployments/syncscope/{scope.pk}/change/"),
    ]
    assert [page.status_code for page in pages] == [200, 200]
    assert "refused the token" in pages[0].content.decode()
    assert all(TOKEN not in page.content.decode() for page in pages)
    assert TOKEN not in everything_logged(logs)


@pytest.mark.parametrize("answer", ECHOES)
def test_an_edit_refused_upstream_leaves_no_token_in_the_answer_or_change_log(
    launchdarkly, logs, answer, make_deployment
):
    deployment = make_deployment(status="started")
    launchdarkly.script(answer)
    writer = get_user_model().objects.create_user("captain")
    writer.groups.add(Group.objects.get(name=roles.RELEASE_CAPTAIN))
    browser = Client()
    browser.force_login(writer)

    response = browser.patch(
        f"/api/v2/engineering-insights/deployments/{deployment.id}",
        data=json.dumps({"comment": "close it", "patch": FINISH}),
        content_type="application/json",
    )

    assert response.status_code >= 400
    assert TOKEN not in response.content.decode()
    change = Change.objects.get()
    recorded = json.dumps(
        [change.error_code, change.error_message, change.error_details, change.reason]
    )
    assert change.error_message  # the refusal is recorded...
    assert TOKEN not in recorded  # ...without the token
    assert TOKEN not in everything_logged(logs)
