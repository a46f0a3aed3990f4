"""Upstream mode: keeping the cache in step with LaunchDarkly, one scope at a time.

A run walks its range in `from`/`to` windows (LaunchDarkly's list answers the last 7
days unless asked otherwise), 7 days at first and longer where they are sparse, newest
first, page by page (`limit=100`, both expansions). A child process fetches, parses
and prepares the pages (`prefetch.py`) while this one upserts them in bulk, a batch of
pages at a time. Each batch commits together with the scope's checkpoint (window and
`after` cursor), so an interrupted run loses nothing: the next run of the scope
continues where it stopped. Memory holds a few pages at a time.

Ranges: a first run (or `full`) reaches back `FULL_HISTORY`; later runs start where the
last complete one ended, less `OVERLAP` for deployments that started then but arrived
late; `since` overrides both. An interrupted run's checkpoint is resumed by the next
run, whatever it was asked, unless that one must reach further back.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from . import bulk, cache
from .models import SyncRun, SyncScope
from .prefetch import prefetched
from .representation import RepresentationError, parse_deployment, to_millis
from .upstream import CallStats, LaunchDarklyClient, UpstreamError, UpstreamRejected

logger = logging.getLogger(__name__)

WINDOW = timedelta(days=7)  # LaunchDarkly's own default window; the first one asked
MAX_WINDOW = timedelta(days=112)  # the longest a run of sparse windows grows to
CROWDED_WINDOW_PAGES = 20  # a window that needed more pages halves the next one
OVERLAP = timedelta(hours=1)
FULL_HISTORY = timedelta(days=730)
ONE_MS = timedelta(milliseconds=1)
# Pages stored per transaction (with the checkpoint). Random UUID keys put nearly every
# row of a batch on its own index page, and a commit writes each page it changed: at
# 100,000 deployments, commits of 5 pages took half the run on SQLite, of 20 a quarter.
# An interrupted run fetches at most this many pages again.
STORE_PAGES = 20
# Pages the fetching process may prepare ahead: a whole batch more, so that it keeps
# working while this process stores one (with 4, it waited, and so did the store).
PREFETCH_PAGES = 2 * STORE_PAGES

Progress = Callable[[SyncRun], None]


def sync_scopes_ensure(pairs: str) -> list[SyncScope]:
    """Scopes for "project/environment" pairs (comma-separated), creating missing ones.
    Raises ValueError naming a pair that is not project/environment."""
    scopes = []
    for pair in filter(None, (item.strip() for item in pairs.split(","))):
        project_key, slash, environment_key = pair.partition("/")
        if not slash or not project_key or not environment_key or "/" in environment_key:
            raise ValueError(f"{pair!r} is not project/environment (e.g. default/production)")
        scope, _ = SyncScope.objects.get_or_create(
            project_key=project_key, environment_key=environment_key
        )
        scopes.append(scope)
    return scopes


def sync_scope_run(
    *,
    scope: SyncScope,
    client: LaunchDarklyClient,
    full: bool = False,
    since: datetime | None = None,
    now: datetime | None = None,
    progress: Progress = lambda run: None,
) -> SyncRun:
    """Brings one scope up to date and returns the recorded run.

    Upstream failures do not raise: the run is recorded as failed with LaunchDarkly's
    message, and its checkpoint stays for the next run. A deployment LaunchDarkly sends
    that does not parse is skipped and counted as failed. KeyboardInterrupt marks the
    run interrupted and propagates.
    """
    now = now or timezone.now()
    if since is not None:
        range_from = since
    elif full or scope.synced_through is None:
        range_from = now - FULL_HISTORY
    else:
        range_from = scope.synced_through - OVERLAP
    # An interrupted run is finished first, unless this one must reach further back.
    resume = scope.has_checkpoint and range_from >= scope.checkpoint_from
    if resume:
        range_from, range_to = scope.checkpoint_from, scope.checkpoint_to
        window_to, after = scope.checkpoint_window_to, scope.checkpoint_after
    else:
        range_to = now
        window_to, after = range_to, ""
        _save_checkpoint(scope, range_from, range_to, window_to, "")
    # A run still "running" here is one whose process died (killed, crashed, redeployed).
    SyncRun.objects.filter(scope=scope, status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.INTERRUPTED,
        error="The process ended before the run finished; its checkpoint was kept",
        finished_at=now,
    )
    run = SyncRun.objects.create(
        scope=scope, full=full, range_from=range_from, range_to=range_to, resumed=resume
    )
    stats_before = (client.stats.rate_limit_waits, client.stats.waited_seconds)
    try:
        with bulk.bulk_load():
            _walk(scope, run, client, range_from, window_to, after, progress)
        run.status = SyncRun.Status.SUCCEEDED
        scope.synced_through = range_to
        _save_checkpoint(scope, None, None, None, "", extra=("synced_through",))
    except UpstreamError as error:
        run.status = SyncRun.Status.FAILED
        run.error = error.message
        logger.warning("Sync of %s failed: %s", scope, error.message)
    except KeyboardInterrupt:
        run.status = SyncRun.Status.INTERRUPTED
        run.error = "Interrupted; the next run continues from the checkpoint"
        raise
    finally:
        run.rate_limit_waits = client.stats.rate_limit_waits - stats_before[0]
        run.waited_seconds = client.stats.waited_seconds - stats_before[1]
        run.finished_at = timezone.now()
        run.save()
    return run


def _walk(
    scope: SyncScope,
    run: SyncRun,
    client: LaunchDarklyClient,
    range_from: datetime,
    window_to: datetime,
    after: str,
    progress: Progress,
) -> None:
    """Fetches, parses and prepares the range's pages ahead, in a child process
    (`prefetch.py`), and stores them here a batch at a time."""
    pages = _parsed(_pages(scope, client, range_from, window_to, after), scope.project_key)
    batch = _Batch()
    bulk.release_memory()  # before the fork: see its docstring
    for step in prefetched(_with_stats(pages, client), depth=PREFETCH_PAGES):
        # The child's client counted its requests and waits.
        client.stats = step.stats
        if step.fetched:
            batch.add(step)
        # Where a run that stops after this step continues: after this page, or at
        # the next window when this one is done.
        if step.window_done:
            window_to, after = step.window_from - ONE_MS, ""
        else:
            window_to, after = step.window_to, step.after
        if batch.pages >= STORE_PAGES:
            _store_batch(scope, run, batch, window_to, after)
            batch = _Batch()
            progress(run)
    _store_batch(scope, run, batch, window_to, after)
    progress(run)


@dataclass(frozen=True)
class _Step:
    """One page of a window (`items`, and the cursor after it), or a window's end."""

    window_from: datetime
    window_to: datetime
    items: list = field(default_factory=list)  # the page's documents (dropped once parsed)
    after: str = ""
    window_done: bool = False
    fetched: int = 0  # how many documents the page held
    batches: list[cache.PreparedBatch] = field(default_factory=list)  # the items, ready
    failures: list[str] = field(default_factory=list)  # why an item did not parse
    stats: CallStats | None = None  # the client's counts after this step


@dataclass
class _Batch:
    """Parsed pages waiting to be stored together."""

    pages: int = 0
    fetched: int = 0
    batches: list[cache.PreparedBatch] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, step: _Step) -> None:
        self.pages += 1
        self.fetched += step.fetched
        self.batches.extend(step.batches)
        self.failures.extend(step.failures)


def _parsed(steps: Iterator[_Step], project_key: str) -> Iterator[_Step]:
    """`steps` with their items parsed and prepared as rows (the items themselves
    dropped: only rows travel back from the fetching process); an item that does not
    parse is skipped and said why."""
    for step in steps:
        if not step.items:
            yield step
            continue
        graphs, failures = [], []
        for position, item in enumerate(step.items):
            try:
                graphs.append(parse_deployment(item, project_key=project_key))
            except RepresentationError as error:
                failures.append(
                    f"a deployment LaunchDarkly sent ({item_name(item, position)}): {error}"
                )
        yield replace(
            step,
            items=[],
            fetched=len(step.items),
            batches=cache.prepare_batches(graphs),
            failures=failures,
        )


def _with_stats(steps: Iterator[_Step], client: LaunchDarklyClient) -> Iterator[_Step]:
    """`steps`, each with the client's counts after it. Runs in the fetching process,
    which first drops the connections it inherited: they are the parent's."""
    client.session.close()
    for step in steps:
        yield replace(step, stats=copy.copy(client.stats))


def _pages(
    scope: SyncScope,
    client: LaunchDarklyClient,
    range_from: datetime,
    window_to: datetime,
    after: str,
) -> Iterator[_Step]:
    """Every page of the range, window by window, newest first, then each window's end.

    Windows are `WINDOW` long at first; after one that held less than a page the next is
    twice as long (up to `MAX_WINDOW`), and after a crowded one half as long again. A
    quiet year then costs a few requests instead of 52: each request costs the upstream
    about as much whether it returns 3 deployments or 100.
    """
    length = WINDOW
    while window_to >= range_from:
        window_from = max(range_from, window_to - length + ONE_MS)
        held = 0
        while True:
            try:
                page = client.list_deployments(
                    project_key=scope.project_key,
                    environment_key=scope.environment_key,
                    from_ms=to_millis(window_from),
                    to_ms=to_millis(window_to),
                    after=after or None,
                )
            except UpstreamRejected:
                if not after:
                    raise
                # The checkpoint's cursor no longer names a deployment there: walk the
                # window again from its start (upserts make that harmless).
                logger.info("Sync of %s: cursor %s refused, restarting its window", scope, after)
                after = ""
                continue
            items = page.get("items") or []
            if items:
                held += len(items)
                after = str(items[-1].get("id", ""))
                yield _Step(window_from, window_to, items, after)
            if not items or not _has_next(page):
                break
        after = ""
        yield _Step(window_from, window_to, window_done=True)
        window_to = window_from - ONE_MS
        if held < client.page_size:
            length = min(length * 2, MAX_WINDOW)
        elif held > CROWDED_WINDOW_PAGES * client.page_size:
            length = max(length / 2, WINDOW)


def _store_batch(
    scope: SyncScope, run: SyncRun, batch: _Batch, window_to: datetime, after: str
) -> None:
    """Upserts the batch and moves the checkpoint to (`window_to`, `after`), in one
    transaction."""
    for failure in batch.failures:
        logger.warning("Sync of %s skipped %s", scope, failure)
    with transaction.atomic():
        if batch.batches:
            written = cache.write_batches(batch.batches)
            run.created += written.created
            run.updated += written.updated - written.unchanged
            run.unchanged += written.unchanged
        run.fetched += batch.fetched
        run.pages += batch.pages
        if batch.failures:
            run.failed += len(batch.failures)
            run.error = batch.failures[-1][:2000]
        run.save()
        _save_checkpoint(scope, scope.checkpoint_from, scope.checkpoint_to, window_to, after)


def item_name(item: object, position: int) -> str:
    """How a skipped document is named: its id when it has one."""
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return f"id {item['id']}"
    return f"number {position + 1} of a batch"


def _has_next(page: dict) -> bool:
    links = page.get("_links")
    return isinstance(links, dict) and isinstance(links.get("next"), dict)


def _save_checkpoint(
    scope: SyncScope,
    range_from: datetime | None,
    range_to: datetime | None,
    window_to: datetime | None,
    after: str,
    *,
    extra: tuple[str, ...] = (),
) -> None:
    scope.checkpoint_from = range_from
    scope.checkpoint_to = range_to
    scope.checkpoint_window_to = window_to
    scope.checkpoint_after = after
    scope.save(
        update_fields=[
            "checkpoint_from",
            "checkpoint_to",
            "checkpoint_window_to",
            "checkpoint_after",
            *extra,
        ]
    )
