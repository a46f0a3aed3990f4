"""Sync speed: every scope of a 100,000-deployment upstream into an empty cache.

The upstream is this project's own LaunchDarkly-compatible API in a separate process
(Django's server, DEBUG off) with its own seeded SQLite database; the cache is a
throwaway database in this process. Prints figures, asserts nothing.

    .venv/bin/python bench/sync.py --deployments 100000
    pg_virtualenv sh -c 'DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres \\
        .venv/bin/python bench/sync.py --deployments 100000'
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from harness import REPOSITORY, machine, peak_rss_mb, setup_django, throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    options = parser.parse_args()

    sys.path.insert(0, str(REPOSITORY))
    from tests.upstream_instance import start_upstream

    with tempfile.TemporaryDirectory(prefix="bench-upstream-") as scratch:
        print(f"seeding and starting the upstream ({options.deployments:,} deployments) ...")
        instance = start_upstream(
            Path(scratch),
            deployments=options.deployments,
            shape="busy",  # about 3 pull requests and 2 flag references per deployment
            DEBUG="0",
            SECRET_KEY="bench-upstream",
            ALLOWED_HOSTS="127.0.0.1",
        )
        try:
            run(instance)
        finally:
            instance.process.terminate()
            instance.process.wait(timeout=10)


def run(instance) -> None:
    setup_django()
    from django.conf import settings

    from deployments import upstream
    from deployments.models import Deployment, DeploymentPullRequest, FlagReference, SyncScope
    from deployments.sync import sync_scope_run

    with sqlite3.connect(instance.database) as connection:
        scopes = connection.execute(
            "SELECT DISTINCT project_key, environment_key FROM deployments_deployment"
        ).fetchall()

    with throwaway_database():
        settings.LAUNCHDARKLY_API_TOKEN = instance.token
        settings.LAUNCHDARKLY_BASE_URL = instance.url
        client = upstream.client_from_settings()
        rss_before = peak_rss_mb()
        totals = {"fetched": 0, "pages": 0, "waits": 0}
        began = time.perf_counter()
        for project_key, environment_key in scopes:
            scope = SyncScope.objects.create(
                project_key=project_key, environment_key=environment_key
            )
            result = sync_scope_run(scope=scope, client=client, full=True)
            assert result.status == "succeeded", result.error
            totals["fetched"] += result.fetched
            totals["pages"] += result.pages
            totals["waits"] += result.rate_limit_waits
        elapsed = time.perf_counter() - began
        client.close()

        deployments = Deployment.objects.count()
        links = DeploymentPullRequest.objects.count()
        flags = FlagReference.objects.count()
        print(f"{machine()}; {len(scopes)} scopes")
        print(
            f"synced {deployments:,} deployments ({links / deployments:.1f} pull requests and "
            f"{flags / deployments:.1f} flag references each) in {elapsed:.1f} s: "
            f"{totals['fetched'] / elapsed:,.0f} deployments/s over {totals['pages']:,} pages, "
            f"{client.stats.requests:,} requests, {totals['waits']} rate-limit waits"
        )
        print(f"peak RSS {peak_rss_mb():.0f} MB (before syncing: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
