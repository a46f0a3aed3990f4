r"""What reading PostgreSQL moments through psycopg's compiled loader saves
(`deployments/postgres.py`), against the pure-Python loader Django registers.

PostgreSQL only. The two loaders take turns on one connection, call after call, so the
VM's drift falls on both alike. Prints figures, asserts nothing.

    pg_virtualenv sh -c 'DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres \
        .venv/bin/python bench/timestamps.py --deployments 100000'

Measured, each `--runs` times per loader:
- parsing one moment, alone;
- the API's list: the busiest project and environment, limit 100, both expansions;
- the detail page's reads (`queries.detail.deployment_detail`) of a deployment with 50
  pull requests and 30 flag references, as `bench/pages.py` measures them;
- the list page's rows and capped count (`queries.listing.list_page`), all time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from api import BOTH, URL, api_client, busiest_scope, seed
from harness import machine, setup_django, throwaway_database
from pages import big_deployment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    options = parser.parse_args()

    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/timestamps.py measures a PostgreSQL loader: set DATABASE_URL to one.")
    with throwaway_database():
        run(options)


def loaders() -> dict[str, type]:
    """Django's own `timestamptz` loader class for this connection, and ours (what
    `deployments.postgres` registers)."""
    import psycopg
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    from deployments.postgres import fast_timestamp_loader

    djangos = SimpleNamespace(adapters=psycopg.adapt.AdaptersMap(psycopg.adapters))
    register_tzloader(connection.timezone, djangos)
    oid = psycopg.postgres.types["timestamptz"].oid
    return {
        "Django's loader": djangos.adapters.get_loader(oid, psycopg.pq.Format.TEXT),
        "compiled loader": fast_timestamp_loader(connection.timezone),
    }


def run(options: argparse.Namespace) -> None:
    from django.db import connection
    from django.http import QueryDict

    from deployments.forms import parse_list_request
    from deployments.models import Deployment
    from deployments.queries.detail import deployment_detail
    from deployments.queries.listing import list_page

    seed(options.deployments)
    client = api_client()
    busiest = busiest_scope()
    scope = {"projectKey": busiest["project_key"], "environmentKey": busiest["environment_key"]}
    detail_id = big_deployment(
        project_key=busiest["project_key"],
        environment_key=busiest["environment_key"],
        application_key=Deployment.objects.values_list("application_key", flat=True).first(),
    )
    listing = parse_list_request(QueryDict("period=all"))

    def api_list() -> Any:
        response = client.get(URL, {**scope, "limit": 100, "expand": BOTH})
        assert response.status_code == 200, response.content[:500]

    calls: dict[str, Callable[[], Any]] = {
        "API list, limit 100, both expansions": api_list,
        "detail page reads, 50 PRs": lambda: deployment_detail(detail_id),
        "list page rows and count": lambda: list_page(
            listing.where, listing.order, size=listing.size, cursor=None
        ),
    }
    connection.ensure_connection()
    adapters = connection.connection.adapters
    classes = loaders()
    print(f"{machine()}; {options.deployments:,} deployments")

    sample = b"2026-11-27 03:21:36.382+00"
    oid = adapters.types["timestamptz"].oid
    for name, loader_class in classes.items():
        parse = loader_class(oid, connection.connection).load
        seconds = timeit.timeit(lambda parse=parse: parse(sample), number=100_000)
        print(f"{name}: {seconds * 10:.2f} µs to parse a moment")

    samples: dict[tuple[str, str], list[float]] = {
        (call, loader): [] for call in calls for loader in classes
    }
    order = list(classes.items())
    for run_index in range(options.runs + 5):
        # Alternate which loader goes first, so that neither always follows the other.
        for loader_name, loader_class in order if run_index % 2 else reversed(order):
            adapters.register_loader("timestamptz", loader_class)
            for call_name, call in calls.items():
                began = time.perf_counter()
                call()
                if run_index >= 5:  # the first calls warm caches for both
                    samples[(call_name, loader_name)].append((time.perf_counter() - began) * 1000)
    for call_name in calls:
        medians = {loader: statistics.median(samples[(call_name, loader)]) for loader in classes}
        text = ", ".join(f"{loader} {ms:.2f} ms" for loader, ms in medians.items())
        print(f"{call_name} (median of {options.runs}): {text}")


if __name__ == "__main__":
    main()
