"""Sync against this project's own API running as a separate server process, with its
own seeded database: the cache and the upstream really are two stores."""

import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from deployments import upstream
from deployments.models import Deployment, DeploymentPullRequest, SyncRun, SyncScope
from deployments.queries import deployment_document_by_id
from deployments.representation import deployment_rep, to_millis
from deployments.services import deployment_update
from deployments.sync import FULL_HISTORY, sync_scope_run, sync_scopes_ensure
from tests.fault_server import Answer, FaultServer
from tests.upstream_instance import (
    REPOSITORY,
    SEEDED_UNTIL,
    environment,
    manage,
    scope_ids,
    start_upstream,
)

NOW = datetime.fromisoformat(SEEDED_UNTIL) + timedelta(hours=1)
BOTH = ("pullRequests", "flagReferences")


@pytest.fixture(scope="module")
def launchdarkly(tmp_path_factory):
    instance = start_upstream(tmp_path_factory.mktemp("upstream"), deployments=400)
    yield instance
    instance.process.terminate()
    instance.process.wait(timeout=10)


@pytest.fixture
def client(launchdarkly, settings):
    settings.LAUNCHDARKLY_API_TOKEN = launchdarkly.token
    settings.LAUNCHDARKLY_BASE_URL = launchdarkly.url
    made = upstream.client_from_settings()
    made.page_size = 7  # several pages per window
    yield made
    made.close()


@pytest.fixture
def busiest(launchdarkly):
    counts = {}
    with sqlite3.connect(launchdarkly.database) as connection:
        for project, environment_key, count in connection.execute(
            "SELECT project_key, environment_key, COUNT(*) FROM deployments_deployment "
            "GROUP BY 1, 2"
        ):
            counts[(project, environment_key)] = count
    return max(counts, key=counts.get)


@pytest.mark.django_db
def test_a_full_sync_mirrors_the_upstream_scope_exactly(launchdarkly, client, busiest):
    scope = SyncScope.objects.create(project_key=busiest[0], environment_key=busiest[1])

    run = sync_scope_run(scope=scope, client=client, full=True, now=NOW)

    expected = launchdarkly.ids(*busiest)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert len(expected) > 50
    assert set(Deployment.objects.values_list("id", flat=True)) == expected
    assert (run.fetched, run.created, run.updated, run.failed) == (
        len(expected),
        len(expected),
        0,
        0,
    )
    # Pages of 7 across weekly windows: at least enough pages to hold them all.
    assert run.pages >= -(-len(expected) // 7)
    scope.refresh_from_db()
    assert scope.synced_through == NOW and not scope.has_checkpoint
    # Every document, expansions included, is what the upstream serves.
    for deployment_id in list(expected)[:25]:
        assert deployment_document_by_id(deployment_id, expand=BOTH) == client.get_deployment(
            str(deployment_id)
        )


@pytest.mark.django_db
def test_a_second_run_is_incremental_and_finds_nothing_new(launchdarkly, client, busiest):
    scope = SyncScope.objects.create(project_key=busiest[0], environment_key=busiest[1])
    sync_scope_run(scope=scope, client=client, full=True, now=NOW)

    again = sync_scope_run(scope=scope, client=client, now=NOW + timedelta(minutes=5))

    assert again.status == SyncRun.Status.SUCCEEDED
    assert again.range_from == NOW - timedelta(hours=1)
    assert again.created == 0 and again.updated == 0
    assert again.fetched == again.unchanged


@pytest.mark.django_db
def test_an_edit_in_upstream_mode_lands_upstream_and_in_the_cache(launchdarkly, client, busiest):
    scope = SyncScope.objects.create(project_key=busiest[0], environment_key=busiest[1])
    sync_scope_run(scope=scope, client=client, full=True, now=NOW)
    deployment = Deployment.objects.filter(archived=False).first()

    change = deployment_update(
        deployment_id=deployment.id,
        patch=[
            {"op": "test", "path": "/archived", "value": False},
            {"op": "replace", "path": "/archived", "value": True},
        ],
        actor="captain",
        reason="duplicate pipeline run",
    )

    assert change.mode == "upstream" and change.after["archived"] is True
    assert client.get_deployment(str(deployment.id), expand="")["archived"] is True
    deployment.refresh_from_db()
    assert deployment.archived is True
    # Upstream recorded the comment as its own change reason.
    with sqlite3.connect(launchdarkly.database) as connection:
        reasons = [row[0] for row in connection.execute("SELECT reason FROM deployments_change")]
    assert "duplicate pipeline run" in reasons


@pytest.mark.django_db
def test_a_failed_run_keeps_its_checkpoint_and_records_why(launchdarkly, client, busiest, settings):
    client.token = "api-wrong"
    client.session.headers["Authorization"] = "api-wrong"
    scope = SyncScope.objects.create(project_key=busiest[0], environment_key=busiest[1])

    run = sync_scope_run(scope=scope, client=client, full=True, now=NOW)

    assert run.status == SyncRun.Status.FAILED
    assert "refused the token" in run.error and "api-wrong" not in run.error
    assert not Deployment.objects.exists()


@pytest.mark.django_db
def test_scopes_come_from_pairs_and_bad_pairs_are_named():
    scopes = sync_scopes_ensure("default/production, payments/staging")

    assert [str(scope) for scope in scopes] == ["default/production", "payments/staging"]
    with pytest.raises(ValueError, match="'production' is not project/environment"):
        sync_scopes_ensure("production")


@pytest.mark.django_db
def test_the_command_refuses_local_mode(settings):
    settings.LAUNCHDARKLY_API_TOKEN = ""

    with pytest.raises(CommandError, match="Sync needs upstream mode"):
        call_command("sync_deployments", "--scope", "default/production")


def test_a_killed_sync_resumes_and_ends_with_exactly_the_upstream(launchdarkly, busiest, tmp_path):
    cache = tmp_path / "cache.sqlite3"
    env = environment(
        cache,
        LAUNCHDARKLY_API_TOKEN=launchdarkly.token,
        LAUNCHDARKLY_BASE_URL=launchdarkly.url,
    )
    manage("migrate", "--no-input", env=env)
    scope = f"{busiest[0]}/{busiest[1]}"
    command = [sys.executable, "manage.py", "sync_deployments", "--scope", scope, "--full"]
    expected = launchdarkly.ids(*busiest)

    first = subprocess.Popen(
        [*command, "--page-size", "1"],  # 20 deployments per commit (STORE_PAGES)
        cwd=REPOSITORY,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    cached = set()
    deadline = time.monotonic() + 60
    while len(cached) < 20 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        cached = scope_ids(cache, *busiest) if cache.exists() else set()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    halfway = scope_ids(cache, *busiest)
    assert 20 <= len(halfway) < len(expected), "the kill did not land halfway"

    second = subprocess.run(
        command, cwd=REPOSITORY, env=env, capture_output=True, text=True, timeout=120
    )

    assert second.returncode == 0, second.stderr
    assert "(resumed)" in second.stdout
    assert scope_ids(cache, *busiest) == expected
    with sqlite3.connect(cache) as connection:
        statuses = [
            r[0] for r in connection.execute("SELECT status FROM deployments_syncrun ORDER BY id")
        ]
        links, distinct = connection.execute(
            "SELECT COUNT(*), COUNT(DISTINCT deployment_id || pull_request_id) "
            f"FROM {DeploymentPullRequest._meta.db_table}"
        ).fetchone()
    assert statuses == ["interrupted", "succeeded"]
    assert links == distinct > 0


@pytest.mark.django_db
def test_windows_tile_the_range_and_grow_where_it_is_empty(settings):
    scope = SyncScope.objects.create(project_key="default", environment_key="production")
    empty = {"totalCount": 0, "items": [], "_links": {}}
    with FaultServer([Answer(body=empty)]) as launchdarkly:
        settings.LAUNCHDARKLY_API_TOKEN = "api-token"
        settings.LAUNCHDARKLY_BASE_URL = launchdarkly.url
        run = sync_scope_run(
            scope=scope, client=upstream.client_from_settings(), full=True, now=NOW
        )

    windows = [
        (int(request.query["from"][0]), int(request.query["to"][0]))
        for request in launchdarkly.received
    ]
    assert run.status == SyncRun.Status.SUCCEEDED
    assert windows[0][1] == to_millis(NOW)
    assert windows[-1][0] == to_millis(NOW - FULL_HISTORY)
    # Newest first, each ending a millisecond before the previous began: no gap, no overlap.
    assert all(older[1] == newer[0] - 1 for newer, older in pairwise(windows))
    days = [round((to - start + 1) / 86_400_000) for start, to in windows]
    assert days[:6] == [7, 14, 28, 56, 112, 112]
    assert len(windows) == 10  # not the 105 weeks of two years


@pytest.mark.django_db
def test_a_deployment_that_does_not_parse_is_skipped_counted_and_named(settings, make_deployment):
    good = deployment_rep(make_deployment(), expand=BOTH)
    Deployment.objects.all().delete()
    bad = {**good, "id": "0c9f7d3e-0000-4000-8000-000000000bad", "startedAt": "yesterday"}
    page = {"totalCount": 2, "items": [bad, good], "_links": {}}
    scope = SyncScope.objects.create(project_key="default", environment_key="production")
    with FaultServer([Answer(body=page), Answer(body={"items": [], "_links": {}})]) as server:
        settings.LAUNCHDARKLY_API_TOKEN = "api-token"
        settings.LAUNCHDARKLY_BASE_URL = server.url
        run = sync_scope_run(
            scope=scope, client=upstream.client_from_settings(), full=True, now=NOW
        )

    assert run.status == SyncRun.Status.SUCCEEDED
    assert (run.fetched, run.created, run.failed) == (2, 1, 1)
    assert "0c9f7d3e-0000-4000-8000-000000000bad" in run.error and "startedAt" in run.error
    assert list(Deployment.objects.values_list("id", flat=True)) == [uuid.UUID(good["id"])]
