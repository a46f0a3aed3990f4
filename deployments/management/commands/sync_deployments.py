"""`manage.py sync_deployments [--scope P/E ...] [--full] [--since DATE]`."""

import time
from datetime import datetime
from datetime import time as clock
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from deployments.management.progress import progress_bar
from deployments.models import SyncRun, SyncScope
from deployments.sync import sync_scope_run, sync_scopes_ensure
from deployments.upstream import NotConfigured, client_from_settings


class Command(BaseCommand):
    help = (
        "Brings the cache up to date with LaunchDarkly (upstream mode). Incremental by "
        "default (from the last complete sync, with an overlap); resumes an interrupted "
        "run where it stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar="PROJECT/ENVIRONMENT",
            help="sync this scope (created if new); default: every enabled scope, after "
            "creating those LAUNCHDARKLY_SYNC_SCOPES names",
        )
        parser.add_argument(
            "--full", action="store_true", help="walk the whole history again (two years)"
        )
        parser.add_argument(
            "--since", help="start at this date or time (ISO 8601, in TIME_ZONE without offset)"
        )
        parser.add_argument(
            "--page-size",
            type=int,
            default=100,
            help="deployments per request, 1 to 100 (default: %(default)s, LaunchDarkly's most)",
        )

    def handle(
        self,
        *args: Any,
        scope: list[str],
        full: bool,
        since: str | None,
        page_size: int,
        **options: Any,
    ) -> None:
        start = _parse_since(since)
        if not 1 <= page_size <= 100:
            raise CommandError(f"--page-size must be between 1 and 100, not {page_size}")
        try:
            client = client_from_settings()
        except NotConfigured as error:
            raise CommandError(f"Sync needs upstream mode: {error}") from error
        client.page_size = page_size
        try:
            # The scopes LAUNCHDARKLY_SYNC_SCOPES names exist before any run.
            sync_scopes_ensure(settings.LAUNCHDARKLY_SYNC_SCOPES)
        except ValueError as error:
            raise CommandError(f"LAUNCHDARKLY_SYNC_SCOPES: {error}") from error
        try:
            scopes = sync_scopes_ensure(",".join(scope)) if scope else None
        except ValueError as error:
            raise CommandError(f"--scope: {error}") from error
        if scopes is None:
            scopes = list(SyncScope.objects.filter(enabled=True))
        if not scopes:
            raise CommandError(
                "No sync scopes: pass --scope PROJECT/ENVIRONMENT, set LAUNCHDARKLY_SYNC_SCOPES, "
                "or add one in the admin portal"
            )
        failed = []
        for each in scopes:
            run = self._sync(each, client, full=full, since=start)
            if run.status != SyncRun.Status.SUCCEEDED:
                failed.append(str(each))
        client.close()
        if failed:
            raise CommandError(f"sync failed for {', '.join(failed)} (see above)")

    def _sync(self, scope: SyncScope, client, *, full: bool, since: datetime | None) -> SyncRun:
        began = time.perf_counter()
        with progress_bar(self.stderr, desc=str(scope), unit=" deployments", leave=False) as bar:
            seen = 0

            def progress(run: SyncRun) -> None:
                nonlocal seen
                bar.update(run.fetched - seen)
                seen = run.fetched

            run = sync_scope_run(
                scope=scope, client=client, full=full, since=since, progress=progress
            )
        elapsed = time.perf_counter() - began
        rate = run.fetched / elapsed if elapsed else 0
        summary = (
            f"{scope}: {run.get_status_display().lower()}{' (resumed)' if run.resumed else ''}"
            f" in {elapsed:.1f} s: {run.fetched:,} fetched ({rate:,.0f}/s), "
            f"{run.created:,} created, {run.updated:,} updated, {run.unchanged:,} unchanged, "
            f"{run.failed:,} failed; {run.rate_limit_waits} rate-limit waits "
            f"({run.waited_seconds:.1f} s)"
        )
        if run.status == SyncRun.Status.SUCCEEDED:
            self.stdout.write(summary)
        else:
            self.stderr.write(f"{summary}\n  {run.error}")
        return run


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        moment = datetime.combine(day, clock.min) if day else None
    if moment is None:
        raise CommandError(f"--since must be an ISO 8601 date or time, not {value!r}")
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment
