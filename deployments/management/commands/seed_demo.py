"""`manage.py seed_demo [--deployments N] [--seed S] [--now ISO] [--shape typical|busy]
[--if-empty | --replace]`."""

import time
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from deployments import demo
from deployments.management.progress import progress_bar
from deployments.models import Deployment, PullRequest


class Command(BaseCommand):
    help = (
        "Fills the cache with a year of realistic demo deployments, the same ones for the "
        "same --seed and --now. Refuses to touch a cache that holds deployments unless "
        "told what to do: --if-empty leaves it alone, --replace deletes it first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--deployments",
            type=int,
            default=demo.DEFAULT_DEPLOYMENTS,
            metavar="N",
            help="how many deployments (default: %(default)s)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=demo.DEFAULT_SEED,
            help="random seed; the same seed and --now give the same data (default: %(default)s)",
        )
        parser.add_argument(
            "--now",
            help="end of the history, ISO 8601; a time without offset is in TIME_ZONE "
            "(default: the current time)",
        )
        parser.add_argument(
            "--shape",
            choices=sorted(demo.SHAPES),
            default=demo.TYPICAL.name,
            help="how much each release carries: typical (about 2 pull requests and half a "
            "flag reference per deployment) or busy (about 3 and 2) (default: %(default)s)",
        )
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the cache already holds deployments",
        )
        existing.add_argument(
            "--replace",
            action="store_true",
            help="delete every cached deployment and pull request first",
        )

    def handle(
        self,
        *args: Any,
        deployments: int,
        seed: int,
        now: str | None,
        if_empty: bool,
        replace: bool,
        shape: str,
        verbosity: int,
        **options: Any,
    ) -> None:
        end = _parse_now(now)
        began = time.perf_counter()
        with progress_bar(
            self.stderr, quiet=verbosity == 0, total=deployments, unit=" deployments"
        ) as bar:
            try:
                result = demo.demo_seed(
                    deployments=deployments,
                    seed=seed,
                    now=end,
                    tz=timezone.get_default_timezone(),
                    if_empty=if_empty,
                    replace=replace,
                    shape=demo.SHAPES[shape],
                    progress=bar.update,
                )
            except ValueError as error:
                raise CommandError(f"--deployments: {error}") from error
            except demo.CacheNotEmpty as error:
                raise CommandError(
                    f"{error}. Pass --replace to delete them (and their pull requests) and "
                    "seed anew, or --if-empty to leave them."
                ) from error
        if result.skipped_because:
            self.stdout.write(
                f"The cache holds {result.skipped_because:,} deployments; not seeding (--if-empty)."
            )
            return
        elapsed = time.perf_counter() - began
        self.stdout.write(
            f"Seeded {result.counts.get(Deployment, 0):,} deployments, "
            f"{result.counts.get(PullRequest, 0):,} pull requests, "
            f"{result.rows:,} rows in {elapsed:.1f} s "
            f"(seed {seed}, history to {end.isoformat(timespec='seconds')})."
        )


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return timezone.now()
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--now must be an ISO 8601 date and time, not {value!r}")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
