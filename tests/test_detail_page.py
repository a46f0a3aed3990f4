"""The deployment detail page, /deployments/<id>/."""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from deployments.cache import cache_graphs
from deployments.charts import LAYOUTS, NARROW, WIDE
from deployments.charts import stage_chart as chart_of
from deployments.display import HOUR_MS, MINUTE_MS
from deployments.models import Change, Deployment, DeploymentEvent
from deployments.queries.detail import safe_link
from deployments.representation import parse_deployment, to_millis
from deployments.templatetags import detail_rows, stage_chart

pytestmark = pytest.mark.django_db

START = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def signed_in(client):
    client.force_login(get_user_model().objects.create_user("viewer"))
    return client


@pytest.fixture
def deploy(example_deployment):
    """Caches a deployment made from LaunchDarkly's example, with its own ids.

    `pull_requests` is a list of dicts merged over the example's pull request (each gets
    a new id unless it brings one); `stages` replaces `leadTimeStages` (None removes it);
    other keywords override top-level fields.
    """

    def make(
        *,
        project_key: str = "default",
        pull_requests: list[dict] | None = None,
        started: datetime = START,
        ended: datetime | None | str = "auto",
        stages: dict | None | str = "example",
        **overrides,
    ) -> Deployment:
        document = copy.deepcopy(example_deployment)
        document["id"] = str(uuid.uuid4())
        template = document["pullRequests"]["items"][0]
        template.pop("deployments")
        items = [{"id": str(uuid.uuid4())}] if pull_requests is None else pull_requests
        document["pullRequests"] = {
            "totalCount": len(items),
            "items": [{**template, "id": str(uuid.uuid4()), **item} for item in items],
        }
        document["startedAt"] = to_millis(started)
        if ended == "auto":
            ended = started + timedelta(minutes=5)
        if ended is None:
            document.pop("endedAt")
            document.pop("durationMs")
        else:
            document["endedAt"] = to_millis(ended)
            document["durationMs"] = to_millis(ended) - to_millis(started)
        if stages is None:
            document.pop("leadTimeStages")
        elif stages != "example":
            document["leadTimeStages"] = stages
        document.update(overrides)
        cache_graphs([parse_deployment(document, project_key=project_key)])
        return Deployment.objects.get(id=document["id"])

    return make


def stage_ms(coding, review, wait, deploy):
    return {
        "codingDurationMs": coding,
        "reviewDurationMs": review,
        "waitDurationMs": wait,
        "deployDurationMs": deploy,
        "totalLeadTimeMs": coding + review + wait + deploy,
    }


def page(client, deployment) -> str:
    response = client.get(f"/deployments/{deployment.id}/")
    assert response.status_code == 200
    return response.content.decode()


def section(body: str, title_id: str) -> str:
    """The HTML of the <section> headed by the element with id `title_id`."""
    start = body.index(f'id="{title_id}"')
    return body[start : body.index("</section>", start)]


# ---------------------------------------------------------------------------
# Access


def test_the_page_needs_a_sign_in(client, deploy):
    deployment = deploy()

    response = client.get(f"/deployments/{deployment.id}/")

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next=/deployments/{deployment.id}/"


def test_an_unknown_id_answers_a_not_found_page(signed_in):
    missing = uuid.uuid4()

    response = signed_in.get(f"/deployments/{missing}/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "not found" in body and str(missing) in body
    assert 'href="/deployments/"' in body


def test_a_path_that_is_not_a_uuid_is_not_found(signed_in):
    assert signed_in.get("/deployments/not-a-uuid/").status_code == 404


# ---------------------------------------------------------------------------
# Header


def test_the_header_shows_the_deployment_in_the_organisations_timezone(signed_in, deploy, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    deployment = deploy(
        project_key="payments",
        applicationKey="billing-service",
        applicationVersion="v2.14.3",
        environmentKey="production",
        status="finished",
        kind="rollback",
        active=True,
        archived=False,
        numberOfContributors=3,
        linesAdded=1234,
        linesDeleted=56,
        started=datetime(2024, 7, 1, 8, 30, 5, tzinfo=UTC),
        ended=datetime(2024, 7, 1, 11, 33, 6, tzinfo=UTC),
    )

    body = page(signed_in, deployment)

    header = body[body.index("<article") : body.index('id="stages-title"')]
    assert "billing-service" in header and "v2.14.3" in header
    assert "<dt>Project</dt><dd>payments</dd>" in header
    assert "<dt>Environment</dt><dd>production</dd>" in header
    assert '<span class="badge status status-finished">finished</span>' in header
    assert "<dt>Kind</dt><dd>rollback</dd>" in header
    assert "<dt>Active</dt><dd>yes</dd>" in header and "<dt>Archived</dt><dd>no</dd>" in header
    # 08:30:05 UTC is 10:30:05 in Berlin in summer.
    assert '<time datetime="2024-07-01T10:30:05.000+02:00">2024-07-01 10:30:05</time>' in header
    assert '<time datetime="2024-07-01T13:33:06.000+02:00">2024-07-01 13:33:06</time>' in header
    assert 'title="3h 3m (10,981,000 ms)">3h 3m</dd>' in header
    assert "<dt>Contributors</dt><dd>3</dd>" in header
    assert '<span class="added">+1,234</span> / <span class="deleted">−56</span>' in header
    assert "<title>billing-service v2.14.3 in production · " in body
    # The breadcrumbs lead to the list, scoped to this deployment's place.
    scoped = "/deployments/?project=payments&amp;environment=production"
    assert f'<a href="{scoped}">payments / production</a>' in header
    assert f'<a href="{scoped}&amp;application=billing-service">billing-service</a>' in header


def test_an_open_deployment_says_it_has_not_ended(signed_in, deploy):
    deployment = deploy(status="started", ended=None)

    body = page(signed_in, deployment)

    assert "<dt>Ended</dt><dd>not yet</dd>" in body
    assert '<span class="badge status status-started">started</span>' in body


# ---------------------------------------------------------------------------
# Lead-time stages


def svg_of(body: str, layout: str = "wide") -> str:
    """The stage chart drawn in `layout` ("wide" or "narrow"), from <svg to </svg>."""
    start = body.index(f'<svg class="chart-{layout}"')
    return body[start : body.index("</svg>", start)]


def svg_segments(body: str, layout: str = "wide") -> list[tuple[str, str, int, str]]:
    """(bar class, stage, width, title) of every drawn segment of the chart in `layout`,
    in document order."""
    svg = svg_of(body, layout)
    found = []
    for bar in re.finditer(r'<g class="bar (bar-\w+)">(.*?)\n      </g>', svg, re.S):
        for segment in re.finditer(
            r'<g class="segment stage-(\w+)"><title>([^<]*)</title><rect [^>]*width="(\d+)"',
            bar.group(2),
        ):
            found.append((bar.group(1), segment.group(1), int(segment.group(3)), segment.group(2)))
    return found


def test_the_stage_bar_draws_four_labelled_stages_in_proportion(signed_in, deploy):
    deployment = deploy(stages=stage_ms(4 * HOUR_MS, 2 * HOUR_MS, HOUR_MS, HOUR_MS))

    body = page(signed_in, deployment)

    assert svg_segments(body) == [
        ("bar-own", "coding", 240, "This deployment, coding: 4h (14,400,000 ms)"),
        ("bar-own", "review", 120, "This deployment, review: 2h (7,200,000 ms)"),
        ("bar-own", "wait", 60, "This deployment, wait: 1h (3,600,000 ms)"),
        ("bar-own", "deploy", 60, "This deployment, deploy: 1h (3,600,000 ms)"),
    ]
    assert sum(width for _, _, width, _ in svg_segments(body)) == WIDE.bar_width
    svg = svg_of(body)
    assert '<svg class="chart-wide" role="img" aria-labelledby="stage-chart-title-wide"' in svg
    assert (
        '<title id="stage-chart-title-wide">Lead-time stages of this deployment: coding, '
        "review, wait and deploy</title>"
    ) in svg
    # Each stage named inside its segment, as much as fits ("Deploy 1h" does not in 60).
    for label in ("Coding 4h", "Review 2h", "Wait 1h", "Deploy"):
        assert f">{label}</text>" in svg
    # The exact values in text too, for screen readers and copying.
    table = body[body.index('class="data stage-table"') :]
    assert '<data value="14400000">4h</data>' in table
    assert '<data value="28800000">8h</data>' in table  # the total
    assert "No other finished deployment" in body


def test_a_phone_gets_the_same_chart_narrow_with_names_above_the_bars(signed_in, deploy):
    deployment = deploy(stages=stage_ms(4 * HOUR_MS, 2 * HOUR_MS, HOUR_MS, HOUR_MS))

    body = page(signed_in, deployment)

    # Two drawings of one chart (detail.css shows one by the page's width), each with
    # its own title id; the same stages, on a bar as wide as the narrow layout's.
    assert body.count("<svg ") == 2
    narrow = svg_of(body, "narrow")
    assert f'viewBox="0 0 {NARROW.width} ' in narrow
    assert 'aria-labelledby="stage-chart-title-narrow"' in narrow
    assert '<title id="stage-chart-title-narrow">Lead-time stages of this deployment' in narrow
    segments = svg_segments(body, "narrow")
    assert [(stage, title) for _, stage, _, title in segments] == [
        (stage, title) for _, stage, _, title in svg_segments(body, "wide")
    ]
    assert sum(width for _, _, width, _ in segments) == NARROW.bar_width
    # The row's name starts at the bar's left edge, its total ends at the right edge.
    assert re.search(r'<text class="row-label" x="1" y="[\d.]+" text-anchor="start"', narrow)
    assert re.search(
        rf'<text class="total" x="{NARROW.bar_x + NARROW.bar_width}" y="[\d.]+" '
        r'text-anchor="end"[^>]*><title>[^<]*</title>8h</text>',
        narrow,
    )


def test_stages_are_compared_with_the_median_of_finished_deployments_in_the_window(
    signed_in, deploy
):
    scope = {"applicationKey": "api", "environmentKey": "production"}
    # In the comparison set: finished, same project, environment and application, with
    # stages, started in the 90 days up to this one.
    for days, coding, review in ((1, HOUR_MS, 10 * MINUTE_MS), (30, 2 * HOUR_MS, 20 * MINUTE_MS)):
        deploy(
            **scope,
            status="finished",
            started=START - timedelta(days=days),
            stages=stage_ms(coding, review, MINUTE_MS, MINUTE_MS),
        )
    deploy(
        **scope,
        status="finished",
        started=START - timedelta(days=89),
        stages=stage_ms(9 * HOUR_MS, 30 * MINUTE_MS, MINUTE_MS, 3 * MINUTE_MS),
    )
    # Not in it: failed, another environment, another application, another project, too
    # old, later, without stages.
    outside = stage_ms(100 * HOUR_MS, 100 * HOUR_MS, 100 * HOUR_MS, 100 * HOUR_MS)
    deploy(**scope, status="failed", started=START - timedelta(days=2), stages=outside)
    deploy(applicationKey="api", environmentKey="staging", status="finished", stages=outside)
    deploy(applicationKey="web", environmentKey="production", status="finished", stages=outside)
    deploy(**scope, project_key="other", status="finished", stages=outside)
    deploy(**scope, status="finished", started=START - timedelta(days=91), stages=outside)
    deploy(**scope, status="finished", started=START + timedelta(hours=1), stages=outside)
    deploy(**scope, status="finished", started=START - timedelta(days=3), stages=None)
    this = deploy(
        **scope,
        status="finished",
        started=START,
        stages=stage_ms(4 * HOUR_MS, 40 * MINUTE_MS, 2 * MINUTE_MS, MINUTE_MS),
    )

    response = signed_in.get(f"/deployments/{this.id}/")

    stages = response.context["detail"].stages
    assert stages.median_count == 3
    medians = {row["name"]: row["median"] for row in stages.rows}
    assert medians == {
        "Coding": 2 * HOUR_MS,
        "Review": 20 * MINUTE_MS,
        "Wait": MINUTE_MS,
        "Deploy": MINUTE_MS,
        # The median of the totals, not the sum of the medians.
        "Total": 2 * HOUR_MS + 20 * MINUTE_MS + 2 * MINUTE_MS,
    }
    assert {row["name"]: row["ratio"] for row in stages.rows}["Coding"] == "2.0×"
    body = response.content.decode()
    assert "over the 3 latest finished deployments of api in production in the 90 days" in body
    # Both bars on one scale: this one (4h 43m) spans the width, the median (2h 22m) half.
    segments = svg_segments(body)
    own = [width for bar, _, width, _ in segments if bar == "bar-own"]
    median = [width for bar, _, width, _ in segments if bar == "bar-median"]
    assert sum(own) == WIDE.bar_width
    assert sum(median) == round(WIDE.bar_width * 142 / 283)
    assert abs(median[0] - WIDE.bar_width * 120 / 283) < 1
    assert "Median, coding: 2h (7,200,000 ms)" in body
    for layout in ("wide", "narrow"):
        title = f'<title id="stage-chart-title-{layout}">Lead-time stages of this deployment'
        assert f"{title} beside the application&#x27;s median: coding," in body


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two(signed_in, deploy):
    for days, coding in ((1, HOUR_MS), (2, 2 * HOUR_MS)):
        deploy(started=START - timedelta(days=days), stages=stage_ms(coding, 1, 1, 1))
    this = deploy()

    response = signed_in.get(f"/deployments/{this.id}/")

    assert response.context["detail"].stages.rows[0]["median"] == 90 * MINUTE_MS


def test_a_deployment_without_pull_requests_explains_it_has_no_stages(signed_in, deploy):
    deployment = deploy(pull_requests=[], stages=None, numberOfPullRequests=0)

    body = page(signed_in, deployment)

    assert "No lead-time stages: this deployment shipped no pull requests." in body
    assert "<svg" not in body
    assert "No pull requests." in body


def test_an_open_deployment_explains_its_stages_are_not_all_known(signed_in, deploy):
    stages = {"codingDurationMs": HOUR_MS, "reviewDurationMs": 2 * HOUR_MS, "waitDurationMs": 5}
    deployment = deploy(status="started", ended=None, stages=stages)

    body = page(signed_in, deployment)

    assert "has not ended, so its deploy stage and total lead time are not known yet" in body
    assert "<svg" not in body
    # What is known is still shown.
    assert '<data value="7200000">2h</data>' in body


# ---------------------------------------------------------------------------
# Pull requests, flags, metadata


def test_the_pull_request_table_shows_each_pull_request_with_its_lead_time(signed_in, deploy):
    lead_time = {
        "codingDurationMs": 3 * HOUR_MS,
        "reviewDurationMs": 30 * MINUTE_MS,
        "maxWaitDurationMs": 2 * HOUR_MS,
        "avgWaitDurationMs": HOUR_MS,
        "maxDeployDurationMs": 5 * MINUTE_MS,
        "avgDeployDurationMs": 5 * MINUTE_MS,
        "maxTotalLeadTimeMs": 6 * HOUR_MS,
        "avgTotalLeadTimeMs": 4 * HOUR_MS + 35 * MINUTE_MS,
    }
    deployment = deploy(
        pull_requests=[
            {
                "externalId": "77",
                "title": "Faster invoices",
                "author": "ana",
                "status": "merged",
                "filesChanged": 12,
                "linesAdded": 1500,
                "linesDeleted": 3,
                "url": "https://git.example.com/acme/api/pull/77",
                "createTime": to_millis(datetime(2024, 2, 28, 9, 15, tzinfo=UTC)),
                "mergeTime": to_millis(datetime(2024, 2, 29, 16, 40, tzinfo=UTC)),
                "leadTime": lead_time,
            },
            {"externalId": "78", "title": "Still open", "status": "open", "mergeTime": None},
        ]
    )

    body = page(signed_in, deployment)

    table = section(body, "pull-requests-title")
    first, second = re.findall(r"<tr><td>.*?</tr>", table)
    assert '<a href="https://git.example.com/acme/api/pull/77" rel="noreferrer">#77</a>' in first
    for cell in ("<td>Faster invoices</td>", "<td>ana</td>", "<td>merged</td>"):
        assert cell in first
    assert '<time datetime="2024-02-28T09:15:00.000+00:00">2024-02-28 09:15</time>' in first
    assert '<time datetime="2024-02-29T16:40:00.000+00:00">2024-02-29 16:40</time>' in first
    assert '<td class="num">12</td>' in first
    assert '<span class="added">+1,500</span> <span class="deleted">−3</span>' in first
    # Lead time from the link row: the total (average, with the maximum when it differs)
    # and each stage.
    assert ">4h 35m (max 6h)</td>" in first
    assert "maximum 6h (21,600,000 ms)" in first
    stage_cells = re.findall(r'<td class="num">([^<]*)</td>', first)[-4:]
    assert stage_cells == ["3h", "30m", "1h (max 2h)", "5m"]
    assert "<td>Still open</td>" in second and "<td>open</td>" in second
    assert "<td>—</td>" in second  # not merged
    assert "(2)</span>" in body


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example.com/pull/1",
        "/relative/pull/1",
        "https://",
        "https:///path-only",
        "https://example.com/pull/1\n",
        "ftp://example.com/pull/1",
    ],
)
def test_only_absolute_http_urls_may_become_links(url):
    assert safe_link(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/api/pull/1",
        "http://git.internal:8080/a/b/pull/2?x=1#y",
        "HTTPS://X",
    ],
)
def test_http_and_https_urls_become_links(url):
    assert safe_link(url) == url


def test_a_javascript_url_is_shown_as_text_not_as_a_link(signed_in, deploy):
    deployment = deploy(
        pull_requests=[
            {"externalId": "1", "url": "javascript:alert(1)"},
            {"externalId": "2", "url": "https://github.com/acme/api/pull/2"},
        ]
    )

    body = page(signed_in, deployment)

    table = section(body, "pull-requests-title")
    assert "javascript:" not in re.sub(r'title="[^"]*"', "", table)
    assert 'href="javascript' not in body
    assert '<span title="javascript:alert(1)">#1</span>' in table
    assert '<a href="https://github.com/acme/api/pull/2" rel="noreferrer">#2</a>' in table


def test_user_supplied_text_is_escaped_everywhere(signed_in, deploy):
    deployment = deploy(
        pull_requests=[
            {
                "title": "<script>alert('title')</script>",
                "author": '<img src=x onerror="alert(1)">',
                "url": 'https://example.com/"><script>alert(2)</script>',
            },
            {
                "externalId": '"><script>alert(6)</script>',
                "status": "<script>alert('status')</script>",
                "url": 'javascript:"><script>alert(4)</script>',
            },
        ],
        metadata={
            "<script>alert('key')</script>": "<b>value</b>",
            "nested": {"</code><script>alert(3)</script>": [1, "<i>"]},
        },
        flagReferences={
            "totalCount": 2,
            "items": [
                {
                    "projectKey": "default",
                    "flagKey": "<script>alert('flag')</script>",
                    "referencesAdded": 1,
                    "referencesRemoved": 0,
                },
                {
                    "projectKey": '"><script>alert(5)</script>',
                    "flagKey": "plain",
                    "referencesAdded": 0,
                    "referencesRemoved": 2,
                },
            ],
        },
    )

    body = page(signed_in, deployment)

    assert "<script>alert" not in body
    assert "<img src=x" not in body and "<b>value</b>" not in body and "<i>" not in body
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in body
    assert "&lt;script&gt;alert(&#x27;key&#x27;)&lt;/script&gt;" in body
    assert "&lt;script&gt;alert(&#x27;flag&#x27;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    assert 'href="https://example.com/&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in body
    # The pull-request and flag rows (made in Python, templatetags/detail_rows.py): a
    # number, a status, a URL that is not a link, a flag's project.
    escaped_number = "#&quot;&gt;&lt;script&gt;alert(6)&lt;/script&gt;"
    assert (
        '<span title="javascript:&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;">'
        f"{escaped_number}</span>"
    ) in body
    assert "<td>&lt;script&gt;alert(&#x27;status&#x27;)&lt;/script&gt;</td>" in body
    assert "<td>&quot;&gt;&lt;script&gt;alert(5)&lt;/script&gt;</td>" in body


def test_flag_references_are_listed_with_their_counts(signed_in, deploy):
    deployment = deploy(
        flagReferences={
            "totalCount": 2,
            "items": [
                {
                    "projectKey": "web",
                    "flagKey": "new-checkout",
                    "referencesAdded": 4,
                    "referencesRemoved": 1,
                },
                {
                    "projectKey": "default",
                    "flagKey": "dark-mode",
                    "referencesAdded": 0,
                    "referencesRemoved": 7,
                },
            ],
        }
    )

    body = page(signed_in, deployment)

    flags = section(body, "flags-title")
    rows = re.findall(r"<tr><td><code>.*?</tr>", flags)
    assert rows == [
        '<tr><td><code>new-checkout</code></td><td>web</td><td class="num added">+4</td>'
        '<td class="num deleted">−1</td></tr>',
        '<tr><td><code>dark-mode</code></td><td>default</td><td class="num added">+0</td>'
        '<td class="num deleted">−7</td></tr>',
    ]


def test_metadata_is_a_key_value_list_with_nested_values_as_compact_json(signed_in, deploy):
    deployment = deploy(
        metadata={"buildNumber": "1234", "attempt": 2, "ok": True, "tags": {"a": [1, "b"]}}
    )

    body = page(signed_in, deployment)

    metadata = section(body, "metadata-title")
    assert "<dt>buildNumber</dt><dd>1234</dd>" in metadata
    assert "<dt>attempt</dt><dd><code>2</code></dd>" in metadata
    assert "<dt>ok</dt><dd><code>true</code></dd>" in metadata
    assert "<dt>tags</dt><dd><code>{&quot;a&quot;:[1,&quot;b&quot;]}</code></dd>" in metadata


def test_no_metadata_and_no_flags_say_so(signed_in, deploy):
    deployment = deploy(metadata=None, flagReferences={"totalCount": 0, "items": []})

    body = page(signed_in, deployment)

    assert "No metadata." in body and "No flag references." in body


# ---------------------------------------------------------------------------
# Timeline


def add_event(deployment, event_type, at, metadata=None):
    return DeploymentEvent.objects.create(
        deployment=deployment, event_type=event_type, event_time=at, event_metadata=metadata
    )


def test_the_timeline_lists_events_in_time_order_with_their_metadata(signed_in, deploy):
    deployment = deploy()
    add_event(deployment, "finished", START + timedelta(minutes=5))
    add_event(deployment, "custom", START + timedelta(minutes=3), {"name": "smoke-tests"})
    add_event(deployment, "started", START, {"runner": "ci-7"})

    body = page(signed_in, deployment)

    timeline = section(body, "timeline-title")
    assert re.findall(r'class="event-type">(\w+)<', timeline) == ["started", "custom", "finished"]
    assert "<dt>runner</dt><dd>ci-7</dd>" in timeline
    assert "<dt>name</dt><dd>smoke-tests</dd>" in timeline
    assert '<time datetime="2024-03-01T10:03:00.000+00:00">2024-03-01 10:03:00</time>' in timeline
    assert "No events were recorded" not in timeline


def test_without_event_rows_the_timeline_is_made_from_start_and_end(signed_in, deploy):
    failed = deploy(status="failed", ended=START + timedelta(minutes=9))
    open_one = deploy(status="started", ended=None)

    failed_timeline = section(page(signed_in, failed), "timeline-title")
    open_timeline = section(page(signed_in, open_one), "timeline-title")

    assert "No events were recorded for this deployment" in failed_timeline
    assert re.findall(r'class="event-type">(\w+)<', failed_timeline) == ["started", "failed"]
    assert "2024-03-01 10:09:00" in failed_timeline
    assert re.findall(r'class="event-type">(\w+)<', open_timeline) == ["started"]


# ---------------------------------------------------------------------------
# Neighbours: the previous deployment, the same version elsewhere


def test_the_previous_deployment_and_the_pull_requests_new_since_it(signed_in, deploy):
    shared, older = str(uuid.uuid4()), str(uuid.uuid4())
    scope = {"applicationKey": "api", "environmentKey": "production"}
    deploy(**scope, applicationVersion="v1", started=START - timedelta(days=9))
    previous = deploy(
        **scope,
        applicationVersion="v2",
        status="failed",
        started=START - timedelta(days=2),
        pull_requests=[
            {"id": shared, "externalId": "10", "title": "Shared"},
            {"id": older, "externalId": "9", "title": "Only before"},
        ],
    )
    deploy(applicationKey="api", environmentKey="staging", started=START - timedelta(days=1))
    deploy(applicationKey="web", environmentKey="production", started=START - timedelta(days=1))
    deploy(**scope, applicationVersion="v4", started=START + timedelta(days=1))
    this = deploy(
        **scope,
        applicationVersion="v3",
        pull_requests=[
            {"id": shared, "externalId": "10", "title": "Shared"},
            {"externalId": "11", "title": "Brand new"},
        ],
    )

    body = page(signed_in, this)

    neighbours = section(body, "previous-title")
    assert f'<a href="/deployments/{previous.id}/">v2</a>' in neighbours
    assert '<span class="badge status status-failed">failed</span>' in neighbours
    assert "1 of this deployment's 2 pull requests is new since then" in neighbours
    assert re.findall(r"<li>#(\d+) ([^<]*) <span", neighbours) == [("11", "Brand new")]


def test_the_first_deployment_of_an_application_says_so(signed_in, deploy):
    deploy(applicationKey="api", environmentKey="staging", started=START - timedelta(days=1))
    this = deploy(applicationKey="api", environmentKey="production")

    neighbours = section(page(signed_in, this), "previous-title")

    assert "This is the first deployment of api in production: all its pull requests are new." in (
        neighbours
    )


def test_a_previous_deployment_with_every_pull_request_says_none_are_new(signed_in, deploy):
    pull_request = {"id": str(uuid.uuid4()), "externalId": "5"}
    deploy(started=START - timedelta(hours=1), pull_requests=[pull_request])
    this = deploy(kind="redeployment", pull_requests=[pull_request])

    neighbours = section(page(signed_in, this), "previous-title")

    assert "No new pull requests" in neighbours


def test_when_the_previous_deployment_shared_nothing_all_are_new(signed_in, deploy):
    deploy(started=START - timedelta(hours=1), pull_requests=[{"externalId": "1"}])
    this = deploy(pull_requests=[{"externalId": "2"}, {"externalId": "3"}])
    one = deploy(started=START + timedelta(hours=1), pull_requests=[{"externalId": "4"}])

    before_this, before_one = (
        section(page(signed_in, deployment), "previous-title") for deployment in (this, one)
    )

    assert "All 2 of its pull requests are new since then" in before_this
    assert "Its one pull request is new since then" in before_one


def test_the_previous_deployment_breaks_a_start_time_tie_by_id(signed_in, deploy):
    deployments = [deploy(applicationVersion=f"v{n}") for n in range(3)]
    low, middle, high = sorted(deployments, key=lambda deployment: deployment.id)

    before_low, before_middle, before_high = (
        section(page(signed_in, deployment), "previous-title") for deployment in (low, middle, high)
    )

    assert "This is the first deployment" in before_low
    assert f'<a href="/deployments/{low.id}/">' in before_middle
    assert f'<a href="/deployments/{middle.id}/">' in before_high


def test_the_same_version_in_other_environments_is_linked(signed_in, deploy):
    scope = {"applicationKey": "api", "applicationVersion": "v7"}
    staging = deploy(**scope, environmentKey="staging", started=START - timedelta(hours=5))
    canary = deploy(
        **scope, environmentKey="canary", status="failed", started=START - timedelta(hours=2)
    )
    deploy(**scope, environmentKey="production", started=START - timedelta(hours=1))  # same env
    deploy(**scope, environmentKey="qa", project_key="other")  # another project
    deploy(applicationKey="api", applicationVersion="v6", environmentKey="qa")  # another version
    deploy(applicationKey="web", applicationVersion="v7", environmentKey="qa")  # another app
    this = deploy(**scope, environmentKey="production")

    elsewhere = section(page(signed_in, this), "same-version-title")

    links = re.findall(r'<a href="/deployments/([0-9a-f-]+)/">(\w+)</a>', elsewhere)
    assert links == [(str(staging.id), "staging"), (str(canary.id), "canary")]
    assert '<span class="badge status status-failed">failed</span>' in elsewhere
    assert "2024-03-01 05:00" in elsewhere


def test_a_version_deployed_nowhere_else_says_so(signed_in, deploy):
    this = deploy(applicationVersion="v1")

    elsewhere = section(page(signed_in, this), "same-version-title")

    assert "v1 has no deployments in the project's other environments." in elsewhere


# ---------------------------------------------------------------------------
# Change history


def record_change(deployment, *, at, reason, outcome=Change.Outcome.APPLIED, **fields):
    change = Change.objects.create(
        deployment=deployment,
        actor_label=fields.pop("actor_label", "jane"),
        source=fields.pop("source", Change.Source.PAGE),
        mode=Change.Mode.LOCAL,
        reason=reason,
        outcome=outcome,
        **fields,
    )
    Change.objects.filter(pk=change.pk).update(created_at=at)
    return change


def test_the_change_history_lists_the_newest_changes_first(signed_in, deploy):
    deployment = deploy()
    other = deploy()
    record_change(other, at=START, reason="someone else's")
    record_change(
        deployment,
        at=START + timedelta(minutes=1),
        reason="Mark it failed",
        outcome=Change.Outcome.CONFLICT,
        source=Change.Source.API,
        actor_label="ci-bot",
        error_message="The deployment changed since you saw it",
    )
    record_change(deployment, at=START + timedelta(minutes=2), reason="Archive <old>")

    body = page(signed_in, deployment)

    history = section(body, "history-title")
    rows = re.findall(r"<tr><td><time.*?</tr>", history)
    assert len(rows) == 2
    assert "<td>jane</td><td>Page</td>" in rows[0] and "Archive &lt;old&gt;" in rows[0]
    assert "<td>ci-bot</td><td>API</td>" in rows[1] and "Conflict" in rows[1]
    assert "The deployment changed since you saw it" in rows[1]
    assert '<time datetime="2024-03-01T10:02:00.000+00:00">' in rows[0]
    assert "someone else" not in history
    assert "older ones are not shown" not in history


def test_the_change_history_shows_twenty_and_says_more_exist(signed_in, deploy):
    deployment = deploy()
    for minute in range(22):
        record_change(deployment, at=START + timedelta(minutes=minute), reason=f"edit {minute}")

    history = section(page(signed_in, deployment), "history-title")

    reasons = re.findall(r"<td>(edit \d+)</td>", history)
    assert reasons == [f"edit {minute}" for minute in range(21, 1, -1)]
    assert "older ones are not shown" in history


def test_a_deployment_never_edited_has_no_history(signed_in, deploy):
    history = section(page(signed_in, deploy()), "history-title")

    assert "No recorded changes" in history


# ---------------------------------------------------------------------------
# Cost


def crowded_deployment(deploy, pull_request_count: int, application: str) -> Deployment:
    """A deployment with `pull_request_count` pull requests and every section filled: a
    previous deployment sharing some of them, the version elsewhere, events, changes."""
    pull_requests = [
        {"id": str(uuid.uuid4()), "externalId": str(n), "title": f"Change {n}"}
        for n in range(pull_request_count)
    ]
    scope = {"applicationKey": application, "environmentKey": "production"}
    deploy(**scope, started=START - timedelta(days=1), pull_requests=pull_requests[:1])
    deploy(applicationKey=application, environmentKey="staging", applicationVersion="same")
    this = deploy(**scope, applicationVersion="same", pull_requests=pull_requests)
    add_event(this, "started", START, {"n": 1})
    add_event(this, "finished", START + timedelta(minutes=5))
    record_change(this, at=timezone.now(), reason="tidy")
    return this


# The session; the user with their groups (the layout's role badge); then the
# deployment, its previous one, the pull-request links of both (with this one's pull
# requests), flag references, events, the same version elsewhere, the stage columns for
# the median, and the changes.
DETAIL_PAGE_QUERIES = 10


def test_the_page_costs_the_same_queries_for_one_or_two_hundred_pull_requests(
    signed_in, deploy, django_assert_num_queries
):
    small = crowded_deployment(deploy, 1, "small")
    large = crowded_deployment(deploy, 200, "large")

    with django_assert_num_queries(DETAIL_PAGE_QUERIES):
        small_body = page(signed_in, small)
    with django_assert_num_queries(DETAIL_PAGE_QUERIES):
        large_body = page(signed_in, large)

    assert small_body.count('rel="noreferrer">#') == 1
    assert large_body.count('rel="noreferrer">#') == 200
    assert "199 of this deployment's 200 pull requests are new since then" in large_body


def test_a_first_deployment_costs_the_same_queries(signed_in, deploy, django_assert_num_queries):
    this = deploy(pull_requests=[{"externalId": str(n)} for n in range(3)])

    with django_assert_num_queries(DETAIL_PAGE_QUERIES):
        body = page(signed_in, this)

    assert "This is the first deployment" in body


# ---------------------------------------------------------------------------
# Markup made in Python (templatetags/detail_rows.py and stage_chart.py)

HOSTILE = "<b a=\"1\" b='2'>&amp;</b>"
HOSTILE_ESCAPED = "&lt;b a=&quot;1&quot; b=&#x27;2&#x27;&gt;&amp;amp;&lt;/b&gt;"


def hostile_pull_request(*, href: bool) -> dict:
    moment = {"iso": HOSTILE, "text": HOSTILE}
    text_fields = ("number", "url", "title", "author", "status", "files", "lines_added")
    row = dict.fromkeys(text_fields, HOSTILE)
    row |= dict.fromkeys(("lines_deleted", "total", "total_exact", "coding", "review"), HOSTILE)
    row |= {"wait": HOSTILE, "deploy": HOSTILE, "created": moment, "merged": moment}
    return row | {"href": HOSTILE if href else None}


@pytest.mark.parametrize("href", [True, False])
def test_every_value_of_a_pull_request_row_is_escaped(href):
    html = detail_rows.pull_request_rows([hostile_pull_request(href=href)])

    assert "<b" not in html and "</b>" not in html and "'2'" not in html
    # Each value shown, escaped: the link (or URL) and number, title, author, status,
    # both times (datetime and text), files, lines added and deleted, the total (title
    # and text) and the four stages.
    assert html.count(HOSTILE_ESCAPED) == 2 + 3 + 4 + 3 + 2 + 4


def test_every_value_of_a_flag_row_is_escaped():
    row = dict.fromkeys(("flag_key", "project_key", "added", "removed"), HOSTILE)

    html = detail_rows.flag_reference_rows([row, row])

    assert "<b" not in html and html.count(HOSTILE_ESCAPED) == 8


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_every_text_of_the_stage_chart_is_escaped(layout):
    stages = {"coding": HOUR_MS, "review": HOUR_MS, "wait": HOUR_MS, "deploy": HOUR_MS}
    chart = chart_of([(HOSTILE, stages), ("Median", stages)], layout)

    svg = stage_chart.stage_chart(chart)

    assert "<b" not in svg and "'2'" not in svg
    # The row's name, and the hover texts of its four segments and of its total.
    assert svg.count(HOSTILE_ESCAPED) == 1 + 4 + 1
    assert svg.startswith(f'<svg class="chart-{layout.name}" role="img"')
    assert svg.endswith("</svg>") and svg.count('<g class="bar ') == 2
