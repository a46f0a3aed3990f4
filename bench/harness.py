"""What every benchmark needs: Django against a throwaway database, and honest figures.

Without DATABASE_URL a benchmark runs on a temporary SQLite file (not memory, which
would flatter it). With it, on the throwaway database `test_<name>` that Django's test
machinery creates, migrates and drops, so the database DATABASE_URL names is left alone.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    sys.path.insert(0, str(REPOSITORY))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "benchmarks-only")
    import django

    django.setup()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A migrated, empty database for the block; yields its vendor name."""
    from django.db import connection

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        if connection.vendor == "sqlite":
            connection.settings_dict["TEST"]["NAME"] = str(Path(scratch) / "bench.sqlite3")
        original_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield connection.vendor
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def describe(samples_ms: list[float]) -> str:
    return (
        f"median {statistics.median(samples_ms):.2f} ms, "
        f"p95 {percentile(samples_ms, 0.95):.2f} ms, "
        f"max {max(samples_ms):.2f} ms over {len(samples_ms)} runs"
    )


def machine() -> str:
    """One line naming what the figures were measured on."""
    from django.db import connection

    query = "select sqlite_version()" if connection.vendor == "sqlite" else "show server_version"
    with connection.cursor() as cursor:
        cursor.execute(query)
        version = cursor.fetchone()[0]
    return (
        f"Python {platform.python_version()}, {connection.vendor} {version}, {os.cpu_count()} cores"
    )
