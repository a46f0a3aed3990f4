import io
import zoneinfo
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max
from django.utils import timezone

from deployments import demo
from deployments.models import (
    Deployment,
    DeploymentEvent,
    DeploymentPullRequest,
    FlagReference,
    PullRequest,
    PullRequestFlagReference,
)
from deployments.queries import DEPLOYMENT_COLUMNS, deployment_documents
from deployments.representation import to_millis
from tests.schema import assert_valid

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
SIZE = 300
BOTH = ("pullRequests", "flagReferences")


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def generated(deployments: int = SIZE, *, seed: int = demo.DEFAULT_SEED, tz=None):
    """What the command would store, in memory; in the organisation's timezone by default."""
    tz = tz or timezone.get_default_timezone()
    return list(demo.generate(deployments=deployments, now=NOW, tz=tz, seed=seed))


def field_values(chunks) -> list[tuple]:
    """Every generated row as (model, concrete field values); auto ids are still None."""
    return [
        (model.__name__, tuple(getattr(row, f.attname) for f in model._meta.concrete_fields))
        for chunk in chunks
        for model, rows in chunk.tables()
        for row in rows
    ]


@pytest.fixture
def seeded(db):
    seed(f"--deployments={SIZE}", f"--now={NOW.isoformat()}")
    return Deployment.objects.all()


# ---------------------------------------------------------------------------
# The generator alone


def test_same_seed_and_now_give_the_same_rows():
    first, second = field_values(generated()), field_values(generated())

    assert first == second
    assert len(first) > 5 * SIZE


def test_another_seed_gives_other_ids_and_values():
    first = generated(seed=1)
    second = generated(seed=2)

    ids = [{d.id for c in chunks for d in c.deployments} for chunks in (first, second)]
    assert not ids[0] & ids[1]
    started = [
        sorted(d.started_at for c in chunks for d in c.deployments) for chunks in (first, second)
    ]
    assert started[0] != started[1]


@pytest.mark.parametrize("size", [0, 1, 7, SIZE, 2 * demo.CHUNK_SIZE + 1])
def test_gives_exactly_the_deployments_asked_for_within_the_year(size):
    chunks = generated(size)
    deployments = [d for chunk in chunks for d in chunk.deployments]

    assert len(deployments) == size
    assert len({d.id for d in deployments}) == size
    assert all(NOW - timedelta(days=365) <= d.started_at < NOW for d in deployments)
    if size >= SIZE:
        assert min(d.started_at for d in deployments) < NOW - timedelta(days=350)


def test_chunks_stay_near_the_chunk_size():
    chunks = generated(3 * demo.CHUNK_SIZE)

    assert len(chunks) >= 3
    assert max(len(chunk.deployments) for chunk in chunks) < demo.CHUNK_SIZE + 100


def test_every_instance_has_exactly_its_models_fields():
    """The generator builds instances without Model.__init__: a field it forgets, or one
    added to a model later, must show up here."""
    for chunk in generated():
        for model, rows in chunk.tables():
            expected = {f.attname for f in model._meta.concrete_fields} | {"_state"}
            for row in rows:
                assert set(vars(row)) == expected, model.__name__
                assert row._state.adding and row._state.db is None


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_most_deployments_start_in_office_hours_of_the_organisation(zone):
    tz = zoneinfo.ZoneInfo(zone)
    deployments = [d for chunk in generated(2000, tz=tz) for d in chunk.deployments]

    local = [d.started_at.astimezone(tz) for d in deployments]
    office = [t for t in local if t.weekday() < 5 and 9 <= t.hour < 18]
    weekend = [t for t in local if t.weekday() >= 5]
    assert len(office) > 0.8 * len(deployments)
    assert 0 < len(weekend) < 0.05 * len(deployments)


# ---------------------------------------------------------------------------
# What the command stores


def test_seed_stores_the_requested_number_and_says_so(db):
    output = seed(f"--deployments={SIZE}", f"--now={NOW.isoformat()}")

    assert Deployment.objects.count() == SIZE
    assert f"Seeded {SIZE} deployments" in output


def test_durations_follow_the_timestamps(seeded):
    for deployment in seeded:
        if deployment.ended_at is None:
            assert deployment.status == "started"
            assert deployment.duration_ms is None
        else:
            assert deployment.status in ("finished", "failed")
            assert deployment.duration_ms == to_millis(deployment.ended_at) - to_millis(
                deployment.started_at
            )
            assert deployment.duration_ms > 0


def test_some_deployments_are_still_open_and_they_are_recent(seeded):
    open_ = seeded.filter(status="started")

    assert open_.exists()
    assert not open_.exclude(ended_at=None).exists()
    assert not open_.filter(started_at__lt=NOW - timedelta(days=14)).exists()


def test_statuses_kinds_and_archiving_have_realistic_shares(seeded):
    statuses = Counter(seeded.values_list("status", flat=True))
    kinds = Counter(seeded.values_list("kind", flat=True))

    assert 0.03 * SIZE < statuses["failed"] < 0.15 * SIZE
    assert statuses["finished"] > 0.8 * SIZE
    assert 0 < statuses["started"] < 0.05 * SIZE
    assert set(kinds) == {"forward", "redeployment", "rollback"}
    assert kinds["forward"] > 0.85 * SIZE
    assert 0 < seeded.filter(archived=True).count() < 0.1 * SIZE


def test_rollbacks_follow_a_failure_and_return_to_the_version_before_it(seeded):
    history = defaultdict(list)
    for deployment in seeded.order_by("started_at", "id"):
        scope = (deployment.project_key, deployment.environment_key, deployment.application_key)
        history[scope].append(deployment)

    rollbacks = 0
    for deployments in history.values():
        for index, deployment in enumerate(deployments):
            if deployment.kind != "rollback":
                continue
            rollbacks += 1
            failed = deployments[index - 1]
            assert failed.status == "failed"
            assert deployment.metadata["rollbackOf"] == failed.application_version
            before = [d for d in deployments[: index - 1] if d.status == "finished"]
            assert deployment.application_version == before[-1].application_version
    assert rollbacks


def test_exactly_the_latest_finished_deployment_of_each_scope_is_active(seeded):
    scopes = defaultdict(list)
    for deployment in seeded:
        scopes[
            deployment.project_key, deployment.environment_key, deployment.application_key
        ].append(deployment)

    for scope, deployments in scopes.items():
        finished = [d for d in deployments if d.status == "finished"]
        active = [d for d in deployments if d.active]
        if not finished:
            assert active == [], scope
            continue
        latest = max(finished, key=lambda d: (d.started_at, d.id))
        assert active == [latest], scope
        assert not latest.archived
    assert seeded.filter(active=True).count() == sum(
        1 for deployments in scopes.values() if any(d.status == "finished" for d in deployments)
    )


def test_catalogue_has_several_projects_applications_and_environments(seeded):
    projects = set(seeded.values_list("project_key", flat=True))
    applications = set(seeded.values_list("project_key", "application_key"))
    environments = set(seeded.values_list("environment_key", flat=True))

    assert len(projects) == 3
    assert len(applications) == len(demo.APPLICATIONS)
    assert {"production", "staging", "canary", "dev"} <= environments
    # Each application belongs to one project.
    assert len({app for _, app in applications}) == len(applications)


def test_pull_requests_ship_to_staging_first_then_production(seeded):
    promoted = 0
    for pull_request in PullRequest.objects.prefetch_related("deployment_links__deployment"):
        deployments = sorted(
            (link.deployment for link in pull_request.deployment_links.all()),
            key=lambda d: d.started_at,
        )
        assert deployments, "every pull request ships somewhere"
        assert len({(d.application_key, d.application_version) for d in deployments}) == 1
        environments = [d.environment_key for d in deployments]
        assert len(environments) == len(set(environments))
        if "staging" in environments and "production" in environments:
            promoted += 1
            assert environments.index("staging") < environments.index("production")
    assert promoted > 10


def test_links_carry_each_environments_own_lead_time_and_it_adds_up(seeded):
    links = DeploymentPullRequest.objects.select_related("deployment", "pull_request")
    by_pull_request = defaultdict(set)
    for link in links:
        deployment, pull_request = link.deployment, link.pull_request
        assert link.review_duration_ms == to_millis(pull_request.merge_time) - to_millis(
            pull_request.create_time
        )
        assert link.coding_duration_ms >= 0
        assert link.max_wait_duration_ms == to_millis(deployment.started_at) - to_millis(
            pull_request.merge_time
        )
        assert link.avg_wait_duration_ms == link.max_wait_duration_ms
        if deployment.ended_at is None:
            assert link.max_deploy_duration_ms is None and link.max_total_lead_time_ms is None
        else:
            assert link.max_deploy_duration_ms == deployment.duration_ms
            assert link.max_total_lead_time_ms == (
                link.coding_duration_ms
                + link.review_duration_ms
                + link.max_wait_duration_ms
                + link.max_deploy_duration_ms
            )
        by_pull_request[pull_request.id].add(link.max_wait_duration_ms)
    # The same pull request waited longer for its later environments.
    assert any(len(waits) > 1 for waits in by_pull_request.values())


def test_deployment_stages_sum_to_the_total_and_lead_time_spans_the_first_commit(seeded):
    longest = dict(
        DeploymentPullRequest.objects.values_list("deployment").annotate(
            Max("max_total_lead_time_ms")
        )
    )
    for deployment in seeded:
        if deployment.number_of_pull_requests == 0:
            assert not deployment.has_lead_time_stages
            assert deployment.lead_time_ms == 0
            continue
        assert deployment.coding_duration_ms >= 0 and deployment.review_duration_ms >= 0
        assert deployment.wait_duration_ms > 0
        if deployment.ended_at is None:
            assert deployment.total_lead_time_ms is None and deployment.lead_time_ms == 0
            continue
        assert deployment.deploy_duration_ms == deployment.duration_ms
        assert deployment.total_lead_time_ms == (
            deployment.coding_duration_ms
            + deployment.review_duration_ms
            + deployment.wait_duration_ms
            + deployment.deploy_duration_ms
        )
        assert deployment.lead_time_ms == longest[deployment.id]
        assert deployment.lead_time_ms >= deployment.total_lead_time_ms


def test_counts_and_lines_are_those_of_the_linked_pull_requests(seeded):
    for deployment in seeded.prefetch_related("pull_request_links__pull_request"):
        pull_requests = [link.pull_request for link in deployment.pull_request_links.all()]
        assert deployment.number_of_pull_requests == len(pull_requests)
        assert deployment.number_of_contributors == len({pr.author for pr in pull_requests})
        assert deployment.lines_added == sum(pr.lines_added for pr in pull_requests)
        assert deployment.lines_deleted == sum(pr.lines_deleted for pr in pull_requests)
    assert seeded.filter(number_of_contributors__gt=1).exists()


def test_pull_requests_look_like_github_ones(seeded):
    for pull_request in PullRequest.objects.all():
        application = pull_request.url.split("/")[4]
        assert pull_request.url == (
            f"https://github.com/acme/{application}/pull/{pull_request.external_id}"
        )
        assert pull_request.status == "merged"
        assert pull_request.author in demo.AUTHORS
        assert pull_request.create_time < pull_request.merge_time
        assert pull_request.title[0].isupper()
    assert PullRequest.objects.values("author").distinct().count() > 20


def test_deployment_flag_references_sum_those_of_its_pull_requests(seeded):
    expected = defaultdict(lambda: [0, 0])
    for link in DeploymentPullRequest.objects.all():
        for reference in PullRequestFlagReference.objects.filter(
            pull_request_id=link.pull_request_id
        ):
            counts = expected[link.deployment_id, reference.project_key, reference.flag_key]
            counts[0] += reference.references_added
            counts[1] += reference.references_removed
    stored = {
        (r.deployment_id, r.project_key, r.flag_key): [r.references_added, r.references_removed]
        for r in FlagReference.objects.all()
    }

    assert stored == dict(expected)
    assert stored


def test_each_deployment_has_a_started_and_an_ending_event(seeded):
    events = defaultdict(list)
    for event in DeploymentEvent.objects.order_by("event_time", "id"):
        events[event.deployment_id].append(event)

    for deployment in seeded:
        timeline = events[deployment.id]
        assert (timeline[0].event_type, timeline[0].event_time) == (
            "started",
            deployment.started_at,
        )
        if deployment.ended_at is None:
            assert len(timeline) == 1
            continue
        assert (timeline[-1].event_type, timeline[-1].event_time) == (
            deployment.status,
            deployment.ended_at,
        )
        assert all(e.event_type == "custom" and e.event_metadata["name"] for e in timeline[1:-1])
        assert {e.version_name for e in timeline} == {deployment.application_version}
    assert DeploymentEvent.objects.filter(event_type="custom").exists()


def test_events_name_the_application_and_its_kind(seeded):
    kinds = dict(
        DeploymentEvent.objects.values_list("deployment__application_key", "application_kind")
    )
    names = set(DeploymentEvent.objects.values_list("application_name", flat=True))

    assert (kinds["checkout-web"], kinds["mobile-app"], kinds["billing-service"]) == (
        "browser",
        "mobile",
        "server",
    )
    assert "Billing service" in names


def test_metadata_names_the_build_and_commit(seeded):
    for deployment in seeded:
        assert deployment.metadata["buildNumber"].isdigit()
        assert len(deployment.metadata["commitSha"]) == 40
        if deployment.kind == "forward":
            assert deployment.metadata["triggeredBy"] == "ci"
        else:
            assert deployment.metadata["triggeredBy"] in demo.AUTHORS


def test_every_deployment_exports_as_a_valid_launchdarkly_deployment(seeded):
    rows = list(Deployment.objects.values(*DEPLOYMENT_COLUMNS))
    for document in deployment_documents(rows, BOTH):
        assert_valid(document, "DeploymentRep")


def test_seed_stores_what_the_generator_gives(seeded):
    stored = {d.id: (d.application_version, d.status, d.started_at, d.lead_time_ms) for d in seeded}
    expected = {
        d.id: (d.application_version, d.status, d.started_at, d.lead_time_ms)
        for chunk in generated()
        for d in chunk.deployments
    }

    assert stored == expected


@pytest.mark.parametrize("size", [SIZE, 2 * demo.CHUNK_SIZE])
def test_seed_runs_a_few_statements_per_chunk_not_per_row(db, django_assert_max_num_queries, size):
    # One insert per table and chunk (the last chunk holds the active deployments), plus
    # a count, SQLite's cache and checkpoint pragmas (6) and a savepoint: seven rows per
    # deployment, batched.
    chunks = size // demo.CHUNK_SIZE + 1
    with django_assert_max_num_queries(6 * chunks + 9):
        seed(f"--deployments={size}", f"--now={NOW.isoformat()}")

    assert DeploymentEvent.objects.count() > 2 * size


def test_default_now_is_the_current_time(db):
    before = datetime.now(UTC)
    output = seed("--deployments=20")
    after = datetime.now(UTC)

    end = datetime.fromisoformat(output.rsplit("history to ", 1)[1].rstrip(").\n"))
    assert before - timedelta(seconds=1) <= end <= after
    latest = Deployment.objects.aggregate(Max("started_at"))["started_at__max"]
    assert before - timedelta(days=60) < latest <= after


# ---------------------------------------------------------------------------
# Existing data and bad arguments


def test_if_empty_seeds_an_empty_cache(db):
    seed("--if-empty", "--deployments=30", f"--now={NOW.isoformat()}")

    assert Deployment.objects.count() == 30


def test_if_empty_leaves_a_seeded_cache_alone_and_says_so(db):
    seed("--deployments=30", f"--now={NOW.isoformat()}", "--seed=1")
    before = set(Deployment.objects.values_list("id", flat=True))

    output = seed("--if-empty", "--deployments=50", f"--now={NOW.isoformat()}", "--seed=2")

    assert set(Deployment.objects.values_list("id", flat=True)) == before
    assert "not seeding" in output


def test_seeding_a_cache_that_holds_deployments_is_refused(db):
    seed("--deployments=30", f"--now={NOW.isoformat()}")

    with pytest.raises(CommandError, match="already holds 30 deployments.*--replace"):
        seed("--deployments=50", f"--now={NOW.isoformat()}", "--seed=2")
    assert Deployment.objects.count() == 30


def test_replace_deletes_the_cache_and_seeds_anew(db):
    seed("--deployments=40", f"--now={NOW.isoformat()}", "--seed=1")

    seed("--replace", "--deployments=25", f"--now={NOW.isoformat()}", "--seed=2")

    expected = {d.id for chunk in generated(25, seed=2) for d in chunk.deployments}
    assert set(Deployment.objects.values_list("id", flat=True)) == expected
    # No pull request of the first seed is left behind.
    assert not PullRequest.objects.filter(deployment_links=None).exists()


def test_replace_with_the_same_seed_gives_the_same_cache(db):
    seed("--deployments=40", f"--now={NOW.isoformat()}")
    first = list(Deployment.objects.order_by("id").values())

    seed("--replace", "--deployments=40", f"--now={NOW.isoformat()}")

    assert list(Deployment.objects.order_by("id").values()) == first


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--deployments=-1"], "zero or more"),
        (["--now=yesterday"], "ISO 8601"),
        (["--now=2025-02-30T10:00:00"], "ISO 8601"),
        (["--if-empty", "--replace"], "not allowed with"),
    ],
)
def test_bad_arguments_are_refused(db, arguments, message):
    with pytest.raises(CommandError, match=message):
        seed(*arguments)
    assert not Deployment.objects.exists()


def test_now_without_offset_is_in_the_organisation_timezone(db, settings):
    settings.TIME_ZONE = "Asia/Tokyo"

    output = seed("--deployments=5", "--now=2025-06-30T12:00:00")

    assert "history to 2025-06-30T12:00:00+09:00" in output


@pytest.mark.parametrize(
    ("shape", "pull_requests", "flag_references"),
    [(demo.TYPICAL, (1.6, 2.4), (0.3, 0.8)), (demo.BUSY, (2.7, 3.5), (1.6, 2.6))],
    ids=["typical", "busy"],
)
def test_shapes_carry_their_pull_requests_and_flag_references(
    shape, pull_requests, flag_references
):
    chunks = list(demo.generate(deployments=2000, now=NOW, tz=UTC, shape=shape))
    deployments = sum(len(chunk.deployments) for chunk in chunks)
    links = sum(len(chunk.pull_request_links) for chunk in chunks)
    flags = sum(len(chunk.flag_references) for chunk in chunks)

    assert pull_requests[0] <= links / deployments <= pull_requests[1]
    assert flag_references[0] <= flags / deployments <= flag_references[1]


def test_the_command_seeds_the_busy_shape_and_refuses_an_unknown_one(db):
    seed("--deployments", "200", "--now", NOW.isoformat(), "--shape", "busy")
    busy = DeploymentPullRequest.objects.count()
    seed("--deployments", "200", "--now", NOW.isoformat(), "--replace")

    assert busy > DeploymentPullRequest.objects.count()
    with pytest.raises(CommandError, match="invalid choice: 'huge'"):
        seed("--deployments", "10", "--shape", "huge", "--replace")
