"""Import and export speed: export N seeded deployments, import them into an empty
cache, then again over themselves. Prints figures, asserts nothing.

    .venv/bin/python bench/transfer.py --deployments 10000
    pg_virtualenv sh -c 'DATABASE_URL=postgres://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/postgres \\
        .venv/bin/python bench/transfer.py --deployments 10000'
"""

from __future__ import annotations

import argparse
import io
import time

from harness import machine, peak_rss_mb, setup_django, throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deployments", type=int, default=10_000)
    options = parser.parse_args()

    setup_django()
    from django.core.management import call_command

    from deployments import bulk
    from deployments.transfer import deployments_export, deployments_import

    with throwaway_database():
        call_command("seed_demo", deployments=options.deployments, verbosity=0)
        stream = io.StringIO()
        began = time.perf_counter()
        deployments_export(stream=stream)
        exported = time.perf_counter() - began
        content = stream.getvalue()
        bulk.delete_cache()

        print(f"{machine()}; {options.deployments:,} deployments, {len(content) / 2**20:.0f} MiB")
        print(f"export: {options.deployments / exported:,.0f} deployments/s")
        for label in ("import into an empty cache", "import over itself"):
            began = time.perf_counter()
            result = deployments_import(content=content, project_key="bench")
            elapsed = time.perf_counter() - began
            print(
                f"{label}: {result.deployments / elapsed:,.0f} deployments/s "
                f"({result.created:,} created, {result.updated:,} updated, {elapsed:.1f} s)"
            )
        print(f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
