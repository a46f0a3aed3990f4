"""Sync speed: every scope of a 100,000-deployment upstream into an empty cache.

The upstream is this project's own LaunchDarkly-compatible API in a separate process
(gunicorn, one worker, DEBUG off) with its own seeded SQLite database, seeded with
`seed_demo --shape busy` (about 3 pull requests and 2 flag references per deployment);
the cache is a throwaway database in this process (SQLite, or PostgreSQL when
DATABASE_URL names it). Prints figures, asserts nothing.

    .venv/bin/python bench/sync.py --deployments 100000 [--upstream replay|api]
    pg_virtualenv sh -c 'DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres \\
        .venv/bin/python bench/sync.py --deployments 100000'
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from harness import REPOSITORY, machine, peak_rss_mb, setup_django, throwaway_database

UPSTREAMS = ("replay", "api")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument(
        "--upstream",
        choices=UPSTREAMS,
        default="replay",
        help="replay: bench/replay_upstream.py answers from exported files (the sync's own "
        "speed); api: this project's API under gunicorn (both ends on this machine)",
    )
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
        if options.upstream == "replay":
            instance = replaying(instance, Path(scratch))
        try:
            print(f"upstream: {options.upstream} at {instance.url}")
            run(instance)
        finally:
            instance.process.terminate()
            instance.process.wait(timeout=10)


def replaying(instance, scratch: Path):
    """The instance's scopes exported to files, and the replay server answering from
    them in place of the instance's API."""
    from tests.upstream_instance import environment, free_port, manage, wait_until_serving

    instance.process.terminate()
    instance.process.wait(timeout=10)
    exports = scratch / "exports"
    exports.mkdir()
    env = environment(instance.database)
    for project_key, environment_key in scopes_of(instance.database):
        manage(
            "export_deployments",
            "--project",
            project_key,
            "--environment",
            environment_key,
            "--output",
            str(exports / f"{project_key}__{environment_key}.json"),
            env=env,
            timeout=600,
        )
    port = free_port()
    script = Path(__file__).with_name("replay_upstream.py")
    process = subprocess.Popen([sys.executable, str(script), str(exports), str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/api/v2/engineering-insights/deployments", process)
    return replace(instance, url=url, process=process)


def scopes_of(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT DISTINCT project_key, environment_key FROM deployments_deployment"
        ).fetchall()


def run(instance) -> None:
    setup_django()
    from django.conf import settings

    from deployments import sync, upstream
    from deployments.models import Deployment, DeploymentPullRequest, FlagReference, SyncScope
    from deployments.sync import sync_scope_run

    scopes = scopes_of(instance.database)

    with throwaway_database():
        settings.LAUNCHDARKLY_API_TOKEN = instance.token
        settings.LAUNCHDARKLY_BASE_URL = instance.url
        client = upstream.client_from_settings()
        storing = _timed(sync, "_store_batch")
        peaks = Path(tempfile.mkdtemp(prefix="bench-peaks-"))
        _note_fetching_peaks(peaks)
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
        answers, per_request = (
            client.stats.answer_seconds,
            client.stats.answer_seconds / client.stats.requests,
        )
        print(
            f"where the time went: the upstream answering {answers:.1f} s "
            f"({per_request * 1000:.0f} ms a request; fetching and parsing run in a child "
            f"process, beside the storing), storing {storing[0]:.1f} s"
        )
        print(
            f"peak RSS {peak_rss_mb():.0f} MB (before syncing: {rss_before:.0f} MB); "
            f"the fetching process's own (private) memory: {_fetching_peak_mb(peaks):.0f} MB"
        )


def _note_fetching_peaks(directory: Path) -> None:
    """Makes each sync's fetching process (deployments.prefetch) write, as it ends, its
    own memory into `directory`: its private pages (kB, from smaps_rollup). Its RSS
    would count again every page it shares with this process since the fork (this
    process's SQLite page cache among them); its memory is flat, so the end is its peak."""
    from deployments import prefetch

    produce = prefetch._produce

    def noting(*args):
        try:
            produce(*args)
        finally:
            rollup = Path("/proc/self/smaps_rollup").read_text().splitlines()
            private_kb = sum(int(line.split()[1]) for line in rollup if line.startswith("Private_"))
            (directory / f"peak-{os.getpid()}").write_text(str(private_kb))

    prefetch._produce = noting


def _fetching_peak_mb(directory: Path) -> float:
    return max((int(path.read_text()) / 1024 for path in directory.glob("peak-*")), default=0)


def _timed(module, name: str) -> list[float]:
    """Wraps module.name to add up the seconds spent in it (into the returned list)."""
    spent = [0.0]
    original = getattr(module, name)

    def timed(*args, **kwargs):
        began = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - began

    setattr(module, name, timed)
    return spent


if __name__ == "__main__":
    main()
