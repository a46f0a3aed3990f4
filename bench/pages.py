r"""Server time of the pages, beside Django admin's changelist for the same rows.

Each request goes through Django's test Client in-process with a signed-in session
(`force_login`): middleware, the session and user lookups, the view, its queries and
template rendering; no network, and the body is not parsed inside the timing. Prints
figures, asserts nothing.

    .venv/bin/python bench/pages.py --deployments 100000
    pg_virtualenv sh -c 'DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres \
        .venv/bin/python bench/pages.py --deployments 100000'

Pages, each `--runs` times after a few unmeasured warm-up calls, as a viewer, twice:
cold, with Django's cache emptied before every request (filter choices, status counts
and a search's count are kept there for a minute, so this is the first visitor of a
minute), and warm, right after, with the cache as the same request left it (paging and
sorting through one view, or the next visitor). The pages take turns, round after round
(`measure_in_rounds`), so that the machine's drift falls on all of them alike:
- the list: its default view (the last 4 weeks), all time (the admin's rows), three
  filters (application, status, kind) over all time, the second page of that, its htmx
  fragment, and a text search (PR titles, authors, flags) over 4 weeks and all time,
  with the count that the page fetches in a second request;
- the detail page of a deployment with 50 pull requests and 30 flag references
  (LaunchDarkly's documented example, widened, cached through `cache.cache_graphs`).
And, as a superuser, Django admin's deployment changelist without and with the same
filters (`list_filter` and plain field lookups in the query string), its search (which
covers application and version, not pull requests), and the same deployment's change
page with its inlines.
"""

from __future__ import annotations

import argparse
import copy
import gc
import html
import json
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any

from api import busiest_scope, measure, seed
from harness import REPOSITORY, machine, peak_rss_mb, percentile, setup_django, throwaway_database

EXAMPLE = REPOSITORY.parent / "shared" / "upstream" / "example-deployment.json"
NEXT_LINK = re.compile(r'<a [^>]*href="([^"]*)"[^>]*>\s*(?:Next|Older)', re.IGNORECASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--admin-runs", type=int, default=50, help="runs per admin page")
    parser.add_argument("--search", default="retry", help="the text search's words")
    options = parser.parse_args()

    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    from django.conf import settings
    from django.core.management import call_command

    # As in production: DEBUG off, so static URLs come from collectstatic's manifest.
    with tempfile.TemporaryDirectory(prefix="bench-static-") as static_root:
        settings.STATIC_ROOT = static_root
        call_command("collectstatic", interactive=False, verbosity=0)
        with throwaway_database():
            run(options)


def big_deployment(*, project_key: str, environment_key: str, application_key: str) -> str:
    """Caches LaunchDarkly's example deployment with 50 pull requests and 30 flag
    references, started now; returns its id."""
    from django.db import transaction
    from django.utils import timezone

    from deployments.cache import cache_graphs
    from deployments.representation import parse_deployment, to_millis

    example = json.loads(EXAMPLE.read_text())
    document = copy.deepcopy(example)
    template = document["pullRequests"]["items"][0]
    flag_template = document["flagReferences"]["items"][0]
    started = to_millis(timezone.now()) - 3_600_000
    pull_requests = []
    for number in range(50):
        item = copy.deepcopy(template)
        item.pop("deployments", None)
        item.update(
            id=str(uuid.uuid4()),
            externalId=str(9000 + number),
            title=f"{template['title']} part {number + 1}",
            createTime=started - 86_400_000,
            mergeTime=started - 3_600_000,
        )
        pull_requests.append(item)
    flags = [
        {**flag_template, "projectKey": project_key, "flagKey": f"bench-flag-{number:02d}"}
        for number in range(30)
    ]
    document.update(
        id=str(uuid.uuid4()),
        environmentKey=environment_key,
        applicationKey=application_key,
        startedAt=started,
        endedAt=started + 600_000,
        durationMs=600_000,
        numberOfPullRequests=50,
        pullRequests={"totalCount": 50, "items": pull_requests},
        flagReferences={"totalCount": 30, "items": flags},
    )
    with transaction.atomic():
        cache_graphs([parse_deployment(document, project_key=project_key)])
    return document["id"]


def run(options: argparse.Namespace) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models import Count
    from django.test import Client

    from deployments import roles
    from deployments.models import Deployment

    seeded = seed(options.deployments)
    busiest = busiest_scope()
    project, environment = busiest["project_key"], busiest["environment_key"]
    application, kind = (
        Deployment.objects.filter(project_key=project, environment_key=environment)
        .values_list("application_key", "kind")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()[:2]
    )
    detail_id = big_deployment(
        project_key=project, environment_key=environment, application_key=application
    )

    User = get_user_model()
    viewer = User.objects.create_user("bench-viewer")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    pages = Client()
    pages.force_login(viewer)
    admin = Client()
    admin.force_login(User.objects.create_superuser("bench-admin", password=None))

    # The list shows the last 4 weeks unless told otherwise; the admin shows all time.
    all_time = {"period": "all"}
    filtered = {**all_time, "application": application, "status": "finished", "kind": kind}
    second_page = next_page_url(pages, "/deployments/", filtered)
    admin_filtered = {
        "application_key": application,
        "status__exact": "finished",
        "kind__exact": kind,
    }
    changelist = "/admin/deployments/deployment/"
    search = {"q": options.search}

    def get(client: Client, path: str, params: dict | None = None, **headers: str) -> Any:
        response = client.get(path, params or {}, headers=headers)
        assert response.status_code == 200, (path, response.status_code)
        return response

    def cold(client: Client, path: str, params: dict | None = None, **headers: str) -> Any:
        # The list keeps filter choices, status counts and a search's count for a minute
        # in Django's cache; emptied first (microseconds for the local-memory cache), each
        # request pays in full, as the first one of a minute does.
        from django.core.cache import cache as django_cache

        django_cache.clear()
        return get(client, path, params, **headers)

    def page(name: str, path: str, params: dict | None = None, **headers: str) -> None:
        calls.append(
            (
                name,
                lambda i: cold(pages, path, params, **headers),
                lambda i: get(pages, path, params, **headers),
                options.runs,
            )
        )

    def admin_page(name: str, path: str, params: dict | None = None) -> None:
        calls.append((name, lambda i: get(admin, path, params), None, options.admin_runs))

    # (name, call with an empty cache, call with the cache as the last call left it or
    # None where nothing is cached, runs)
    calls: list[tuple[str, Callable[[int], Any], Callable[[int], Any] | None, int]] = []
    page("list, default view (last 4 weeks)", "/deployments/")
    page("list, all time", "/deployments/", all_time)
    page("list, 3 filters, all time", "/deployments/", filtered)
    if second_page:
        page("list, 3 filters, all time, page 2", second_page)
    page("list fragment (htmx), 3 filters", "/deployments/", filtered, HX_Request="true")
    page(f"list, search {options.search!r} (4 weeks)", "/deployments/", search)
    page(f"list, search {options.search!r}, all time", "/deployments/", {**search, **all_time})
    # A search's count comes in a second request once the page has loaded (htmx).
    count = {"HX_Request": "true", "HX_Target": "result-count"}
    page("  + its deferred count (4 weeks)", "/deployments/", search, **count)
    page("  + its deferred count (all time)", "/deployments/", {**search, **all_time}, **count)
    page("detail, 50 PRs, 30 flags", f"/deployments/{detail_id}/")
    admin_page("admin changelist, no filter", changelist)
    admin_page("admin changelist, 3 filters", changelist, admin_filtered)
    admin_page(f"admin changelist, search {options.search!r}", changelist, search)
    admin_page("admin change page, same deployment", f"{changelist}{detail_id}/change/")

    print(f"{machine()}; {options.deployments:,} deployments seeded in {seeded:.0f} s")
    print(
        f"busiest scope {project}/{environment}: {busiest['n']:,} deployments; filters: "
        f"{application}, finished, {kind}"
    )
    gc.collect()  # the seed's garbage is no server's
    results, warm_results = measure_in_rounds(calls)
    print()
    print("Cold: Django's cache emptied before each request (the first visitor of a minute);")
    print("warm: as the same request before it left the cache (paging, a second visitor).")
    print()
    print(f"| {'Page':<38} | Median ms | p95 ms | Queries | Warm median ms | Warm queries | KiB |")
    print(f"|{'-' * 40}|-----------|--------|---------|----------------|--------------|-----|")
    for name, (median, p95, queries, size) in results.items():
        warm, warm_queries = warm_results.get(name, (None, None))
        warm_text = f"{warm:14.2f}" if warm is not None else f"{'':14}"
        warm_count = f"{warm_queries:12d}" if warm_queries is not None else f"{'':12}"
        print(
            f"| {name:<38} | {median:9.2f} | {p95:6.2f} | {queries:7d} | {warm_text} "
            f"| {warm_count} | {size / 1024:3.0f} |"
        )
    print()
    for ours, theirs in (
        ("list, all time", "admin changelist, no filter"),
        ("list, 3 filters, all time", "admin changelist, 3 filters"),
        (
            f"list, search {options.search!r}, all time",
            f"admin changelist, search {options.search!r}",
        ),
        ("detail, 50 PRs, 30 flags", "admin change page, same deployment"),
    ):
        ratio = results[theirs][0] / results[ours][0]
        print(f"{theirs} takes {ratio:.1f}x the time of {ours} (medians)")
    print(f"peak RSS {peak_rss_mb():.0f} MB")


def measure_in_rounds(
    calls: list[tuple[str, Callable[[int], Any], Callable[[int], Any] | None, int]],
) -> tuple[dict[str, tuple[float, float, int, int]], dict[str, tuple[float, int]]]:
    """Each page's median, p95, queries and size cold, and median and queries warm.

    The pages take turns: round after round, each page is requested once cold and, right
    after, once warm (the same request again). This VM's speed drifts by up to 40% over
    minutes, so measuring one page's runs after another's would compare moments, not
    pages; in rounds every page, and the admin beside the list, sees the same drift.
    """
    results: dict[str, tuple[float, float, int, int]] = {}
    warm_results: dict[str, tuple[float, int]] = {}
    sizes: dict[str, int] = {}
    queries: dict[tuple[str, bool], int] = {}
    for name, cold_call, warm_call, _ in calls:
        sizes[name] = len(cold_call(0).content)
        for warm, call in ((False, cold_call), (True, warm_call)):
            if call is not None:
                _, queries[name, warm] = measure(call, 0)  # warm-up calls, queries counted
    samples: dict[tuple[str, bool], list[float]] = {}
    for round_number in range(max(runs for *_, runs in calls)):
        for name, cold_call, warm_call, runs in calls:
            if round_number >= runs:
                continue
            for warm, call in ((False, cold_call), (True, warm_call)):
                if call is not None:
                    start = time.perf_counter()
                    call(round_number)
                    elapsed = (time.perf_counter() - start) * 1000
                    samples.setdefault((name, warm), []).append(elapsed)
    for name, _, warm_call, _ in calls:
        cold = samples[name, False]
        results[name] = (
            statistics.median(cold),
            percentile(cold, 0.95),
            queries[name, False],
            sizes[name],
        )
        if warm_call is not None:
            warm_results[name] = (statistics.median(samples[name, True]), queries[name, True])
    return results, warm_results


def next_page_url(client, path: str, params: dict) -> str | None:
    """The list's own link to its next page (the keyset cursor is the page's to make)."""
    body = client.get(path, params).content.decode()
    match = NEXT_LINK.search(body)
    if match is None:
        print("(the filtered list has one page: no page 2 to measure)")
        return None
    href = html.unescape(match.group(1))
    return path + href if href.startswith("?") else href


if __name__ == "__main__":
    main()
