r"""How fast `manage.py seed_demo` fills a fresh database. Prints figures, asserts nothing.

    .venv/bin/python bench/seed.py --deployments 100000
    pg_virtualenv sh -c 'DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres \
        .venv/bin/python bench/seed.py --deployments 100000'

Without DATABASE_URL it seeds a temporary SQLite file (not memory, which would flatter
it). With it, it seeds the throwaway database `test_<name>` that Django's test machinery
creates, migrates and drops, so the database DATABASE_URL names is left alone. DEBUG is
on unless the environment says otherwise, as under `make run`; the seed itself is timed,
the migrations are not.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None, help="default: seed_demo's")
    parser.add_argument("--now", help="end of the history, ISO 8601 (default: now)")
    options = parser.parse_args()

    sys.path.insert(0, str(REPOSITORY))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    os.environ.setdefault("DEBUG", "1")
    with tempfile.TemporaryDirectory(prefix="bench-seed-") as scratch:
        run(options, Path(scratch))


def run(options: argparse.Namespace, scratch: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = str(scratch / "bench.sqlite3")
    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        before = _peak_rss_mb()
        arguments = {"deployments": options.deployments, "verbosity": 1}
        if options.seed is not None:
            arguments["seed"] = options.seed
        if options.now:
            arguments["now"] = options.now
        began, cpu_began = time.perf_counter(), time.process_time()
        call_command("seed_demo", **arguments)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        report(options.deployments, elapsed, cpu, before, _row_counts())
    finally:
        connection.creation.destroy_test_db(original_name, verbosity=0)


def _row_counts() -> dict[str, int]:
    from deployments.demo import DemoChunk

    return {model._meta.model_name: model.objects.count() for model, _ in DemoChunk().tables()}


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def report(
    deployments: int, elapsed: float, cpu: float, rss_before: float, counts: dict[str, int]
) -> None:
    import django
    from django.conf import settings
    from django.db import connection

    rows = sum(counts.values())
    database = f"{connection.vendor} {'.'.join(map(str, connection.get_database_version()))}"
    print()
    print(
        f"seed_demo: {deployments:,} deployments on {database}, Django {django.get_version()}, "
        f"Python {platform.python_version()}, DEBUG {'on' if settings.DEBUG else 'off'}"
    )
    # CPU time of this process alone: a busy machine stretches the elapsed time, and a
    # PostgreSQL server's own work is not in it.
    print(f"  elapsed        {elapsed:.2f} s (CPU {cpu:.2f} s)")
    print(f"  deployments/s  {deployments / elapsed:,.0f}")
    print(f"  rows           {rows:,} ({', '.join(f'{n} {c:,}' for n, c in counts.items())})")
    print(f"  rows/s         {rows / elapsed:,.0f}")
    print(f"  peak RSS       {_peak_rss_mb():.0f} MB (before seeding: {rss_before:.0f} MB)")


if __name__ == "__main__":
    main()
