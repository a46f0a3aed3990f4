r"""Latency of the deployment API through Django's whole request path, in-process.

Each call goes through Django's test Client: middleware, URL routing, token
authentication, the rate limiter, the view, the queries and JSON rendering; no network,
and the client does not parse the body inside the timing. Prints figures, asserts
nothing.

    .venv/bin/python bench/api.py --deployments 100000
    pg_virtualenv sh -c 'DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres \
        .venv/bin/python bench/api.py --deployments 100000'

Calls, each `--runs` times after a few unmeasured warm-up calls:
- list: the busiest project and environment, limit 100, both expansions, default window;
- list, deep pages: the same over the whole year, from cursors anywhere in it;
- filtered list: one application, `status=finished`, one kind, over the whole year;
- detail with both expansions; patch: `archived` toggled, guarded by a `test`.

`--gc-freeze` moves everything alive after setup out of the garbage collector's sight
(`gc.freeze()`, as a server can do once its app is loaded), to show how much of the
95th percentile is full collections rather than this code.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
from collections.abc import Callable
from typing import Any

from harness import describe, machine, peak_rss_mb, setup_django, throwaway_database

URL = "/api/v2/engineering-insights/deployments"
BOTH = "pullRequests,flagReferences"
WARM_UP = 5


def measure(call: Callable[[int], Any], runs: int) -> tuple[list[float], int]:
    """Milliseconds per call, and the SQL queries of the first (unmeasured) call.

    `call(i)` gets a distinct number per call, to vary its arguments.
    """
    from django.db import connection

    # A wrapper counts them: the debug query log is cleared at every request start.
    queries: list[str] = []
    with connection.execute_wrapper(lambda run, sql, *rest: queries.append(sql) or run(sql, *rest)):
        call(0)
    for i in range(1, WARM_UP):
        call(i)
    samples = []
    for i in range(WARM_UP, WARM_UP + runs):
        start = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--gc-freeze", action="store_true")
    options = parser.parse_args()

    # The test Client says "testserver". The rate limiter stays on, as its cost is part
    # of every call, but high enough never to answer 429 here.
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("API_RATE_LIMIT", "1000000/10s")
    setup_django()
    with throwaway_database():
        run(options)


def seed(deployments: int) -> float:
    """Seeds the cache and gives the planner its statistics; returns the seconds taken."""
    from django.core.management import call_command
    from django.db import connection

    began = time.perf_counter()
    call_command("seed_demo", deployments=deployments, verbosity=0)
    seeded = time.perf_counter() - began
    with connection.cursor() as cursor:
        # As autovacuum would leave a cache this size. Straight after a bulk load
        # PostgreSQL has no statistics and scans whole tables for the expansions' `IN`
        # lists (list calls ~2x slower), and no visibility map for index-only counts.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return seeded


def busiest_scope() -> dict[str, Any]:
    """The project and environment with the most deployments: `project_key`,
    `environment_key` and their number, `n`."""
    from django.db.models import Count

    from deployments.models import Deployment

    return (
        Deployment.objects.values("project_key", "environment_key")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )


def api_client() -> Any:
    """A test client calling the API as a pipeline does: a writer token, the beta
    version header."""
    from django.test import Client

    from deployments.models import ApiToken
    from deployments.tokens import api_token_create

    token = api_token_create(name="bench", role=ApiToken.Role.WRITER, service_name="bench").raw
    return Client(headers={"Authorization": token, "LD-API-Version": "beta"})


def run(options: argparse.Namespace) -> None:
    from django.db.models import Count

    from deployments.models import Deployment

    seeded = seed(options.deployments)
    client = api_client()
    rng = random.Random(7)

    busiest = busiest_scope()
    scope = {"projectKey": busiest["project_key"], "environmentKey": busiest["environment_key"]}
    in_scope = Deployment.objects.filter(
        project_key=busiest["project_key"], environment_key=busiest["environment_key"]
    )
    cursors = [str(pk) for pk in in_scope.order_by("?").values_list("id", flat=True)[:500]]
    application, kind, _ = (
        in_scope.values_list("application_key", "kind")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    whole_year = {**scope, "from": 0}
    filtered = {**whole_year, "applicationKey": application, "status": "finished", "kind": kind}

    # Each PATCH edits its own deployment, guarded by the value read here, untimed.
    edits = list(
        Deployment.objects.order_by("?").values_list("id", "archived")[: options.runs + WARM_UP]
    )
    patches = [
        [
            {"op": "test", "path": "/archived", "value": archived},
            {"op": "replace", "path": "/archived", "value": not archived},
        ]
        for _, archived in edits
    ]

    def get(path: str, params: dict) -> Any:
        response = client.get(path, params)
        assert response.status_code == 200, response.content[:500]
        return response

    def patch(i: int) -> Any:
        response = client.patch(f"{URL}/{edits[i][0]}", patches[i], content_type="application/json")
        assert response.status_code == 200, response.content[:500]
        return response

    calls: dict[str, Callable[[int], Any]] = {
        "list (limit 100, both expands)": lambda i: get(
            URL, {**scope, "limit": 100, "expand": BOTH}
        ),
        "list, deep pages (cursor anywhere in a year)": lambda i: get(
            URL, {**whole_year, "limit": 100, "expand": BOTH, "after": rng.choice(cursors)}
        ),
        "filtered list (application, status, kind)": lambda i: get(URL, filtered),
        "detail (both expands)": lambda i: get(f"{URL}/{edits[i][0]}", {"expand": BOTH}),
        "patch (test + replace archived)": patch,
    }

    first = get(URL, {**scope, "limit": 100, "expand": BOTH})
    print(f"{machine()}; {options.deployments:,} deployments seeded in {seeded:.0f} s")
    print(
        f"busiest scope {scope['projectKey']}/{scope['environmentKey']}: "
        f"{in_scope.count():,} deployments, {first.json()['totalCount']} in the last 7 days, "
        f"{len(first.content) / 1024:.0f} KiB for 100 expanded; the filtered list "
        f"({application}, finished, {kind}) matches {get(URL, filtered).json()['totalCount']:,}"
    )
    gc.collect()  # the seed's garbage is no server's
    if options.gc_freeze:
        gc.freeze()
    for name, call in calls.items():
        samples, queries = measure(call, options.runs)
        print(f"{name}: {describe(samples)}; {queries} queries")
    print(f"gc.freeze: {'yes' if options.gc_freeze else 'no'}; peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
