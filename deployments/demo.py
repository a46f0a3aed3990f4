"""Deterministic demo data: a year of deployments as unsaved model instances.

`generate` yields `DemoChunk`s of unsaved instances, parents before children, so a seed
of any size runs in bounded memory; `demo_seed` (behind `manage.py seed_demo`) inserts
them. Everything is drawn from one `random.Random(seed)`: the same seed, end of history
(`now`) and timezone give the same ids and values.

The shape of the data:

- Three projects, each with its promotion chain (`staging → canary → production`, ...),
  and twelve applications, each in one project. A release (a version and its pull
  requests) is deployed along the chain, hours apart in working time, until it fails,
  is not promoted, or would start after `now`. Every deployment of a release links the
  same `PullRequest` rows, each link with its own lead time in that environment.
- Time is spent in "working units": an hour of a weekday between 9 and 18 in the
  organisation's timezone counts 1, evenings, nights and weekends a small fraction.
  Releases spaced evenly in units land mostly in office hours.
- About 8% fail; a failure in canary or production is usually followed by a rollback to
  the version that ran before. A few per cent are redeployments of the running version.
  Recent deployments may still run or be stuck (status `started`, no end); the last one
  generated is always open. Per (project, environment, application), the latest finished
  deployment is `active`.

Lead time, per pull request in the environment of one deployment:

    first commit ─coding→ PR created ─review→ merged ─wait→ deploy start ─deploy→ end

Each stage is a difference of timestamps (all stored but the first commit), so they add
up: total = coding + review + wait + deploy = end − first commit. A pull request ships
once per environment here, so its max and avg are equal. A deployment's lead-time stages
are its pull requests' averages (to the millisecond; the total is the sum of the four),
and its `leadTime` runs from the earliest first commit to its end: the longest of its
pull requests' totals. Without an end (still open) the deploy and total stages are
absent and `leadTime` is 0; without pull requests (rollbacks, redeployments) there are
no stages and `leadTime` is 0.
"""

from __future__ import annotations

import math
import random
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property, partial
from itertools import accumulate
from typing import Any

from django.db import models, transaction

from . import bulk
from .models import (
    Deployment,
    DeploymentEvent,
    DeploymentPullRequest,
    FlagReference,
    PullRequest,
    PullRequestFlagReference,
)
from .representation import from_millis, to_millis
from .unsaved import exact

DEFAULT_SEED = 20240131
DEFAULT_DEPLOYMENTS = 2000
CHUNK_SIZE = 2000
HISTORY_DAYS = 365

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# Pull requests of the oldest releases were written before the history starts.
LEAD_IN_DAYS = 60

STARTED, FINISHED, FAILED = "started", "finished", "failed"
FORWARD, REDEPLOYMENT, ROLLBACK = "forward", "redeployment", "rollback"


# ---------------------------------------------------------------------------
# The catalogue


@dataclass(frozen=True)
class Application:
    key: str
    project_key: str
    weight: int  # relative number of releases
    semver: bool = False  # tagged releases (v2.14.3) rather than commit SHAs
    deploy_minutes: float = 6.0  # median deploy duration
    kind: str = "server"  # LaunchDarkly's applicationKind: server, browser or mobile

    @property
    def environments(self) -> tuple[str, ...]:
        return PROJECTS[self.project_key]

    @property
    def name(self) -> str:
        return self.key.replace("-", " ").capitalize()

    @property
    def log_deploy_ms(self) -> float:
        return math.log(self.deploy_minutes * MINUTE_MS)


# Each project's environments, in promotion order.
PROJECTS: dict[str, tuple[str, ...]] = {
    "payments": ("staging", "canary", "production"),
    "storefront": ("dev", "staging", "production"),
    "mobile": ("staging", "production"),
}

APPLICATIONS = (
    Application("billing-service", "payments", 8),
    Application("payment-gateway", "payments", 6, semver=True),
    Application("invoice-worker", "payments", 4),
    Application("fraud-detector", "payments", 3),
    Application("checkout-web", "storefront", 10, deploy_minutes=4, kind="browser"),
    Application("catalog-api", "storefront", 7),
    Application("search-service", "storefront", 5),
    Application("recommendations-engine", "storefront", 3, deploy_minutes=12),
    Application("notification-service", "storefront", 4),
    Application("mobile-app", "mobile", 3, semver=True, deploy_minutes=40, kind="mobile"),
    Application("mobile-bff", "mobile", 6),
    Application("push-service", "mobile", 3, semver=True),
)
APPLICATION_WEIGHTS = list(accumulate(app.weight for app in APPLICATIONS))
TOTAL_WEIGHT = APPLICATION_WEIGHTS[-1]

AUTHORS = (
    "jane.doe", "john.smith", "amara.okafor", "li.wei", "priya.patel", "carlos.mendez",
    "sofia.rossi", "lukas.schmidt", "emma.johansson", "kenji.tanaka", "fatima.hassan",
    "noah.williams", "olivia.brown", "mateo.garcia", "chloe.martin", "arjun.singh",
    "yuki.sato", "hannah.muller", "david.cohen", "zara.ahmed", "liam.oconnor",
    "mia.kowalski", "ethan.nguyen", "ava.dubois", "omar.farouk", "grace.kim",
    "lucas.silva", "isabella.costa", "samuel.adeyemi", "nora.lindqvist", "ben.carter",
    "lea.fischer", "ravi.kumar", "elena.popescu", "tom.becker", "ines.moreau",
    "felix.wagner", "julia.novak", "marco.bianchi", "aisha.bello",
)  # fmt: skip
# Every third author works in each project: teams of about thirteen.
TEAMS = {project: AUTHORS[index::3] for index, project in enumerate(PROJECTS)}

FLAGS = {
    "payments": (
        "enable-new-payment-structure", "three-d-secure-v2", "instant-refunds",
        "invoice-pdf-v2", "fraud-score-threshold", "multi-currency", "apple-pay",
        "retry-failed-webhooks",
    ),
    "storefront": (
        "checkout-redesign", "one-click-buy", "search-autocomplete", "dark-mode",
        "personalized-recommendations", "free-shipping-banner", "new-product-page",
        "guest-checkout",
    ),
    "mobile": (
        "push-opt-in-prompt", "biometric-login", "offline-cart", "in-app-review",
        "new-onboarding", "mobile-wallet", "deep-link-v2", "app-rating-prompt",
    ),
}  # fmt: skip

TITLE_TEMPLATES = (
    "Add retry to {}", "Fix race condition in {}", "Refactor {}", "Add metrics to {}",
    "Handle timeouts in {}", "Speed up {}", "Clean up {}", "Migrate {} to the v2 API",
    "Add tests for {}", "Remove dead code from {}", "Validate input in {}",
    "Cache results of {}", "Improve error messages in {}", "Log request ids in {}",
    "Bump dependencies of {}", "Put {} behind a feature flag", "Fix flaky test in {}",
    "Add pagination to {}", "Harden {}", "Document {}",
)  # fmt: skip
TITLE_OBJECTS = (
    "payment webhook", "invoice export", "checkout form", "cart summary", "login flow",
    "push notifications", "search indexer", "settings page", "rate limiter",
    "order history", "refund endpoint", "email templates", "flag evaluation",
    "session store", "CSV import", "reconciliation job", "currency conversion",
    "address autocomplete", "onboarding wizard", "audit log", "product page",
    "image resizer", "tax calculation", "shipping estimates", "API client",
    "health checks", "retry queue", "price rules", "coupon validation", "user profile",
)  # fmt: skip

# How many pull requests a forward release carries, and how often.
PULL_REQUEST_COUNTS = (0, 1, 2, 3, 4, 5, 6, 8)


@dataclass(frozen=True)
class Shape:
    """How much each release carries: the weights of PULL_REQUEST_COUNTS, and the share
    of pull requests that touch feature flags."""

    name: str
    pull_request_count_weights: tuple[int, ...]
    flagged_share: float

    @cached_property
    def cumulative_weights(self) -> list[int]:
        return list(accumulate(self.pull_request_count_weights))


# About 2 pull requests and half a flag reference per deployment: the demo.
TYPICAL = Shape("typical", (4, 40, 25, 14, 8, 5, 3, 1), flagged_share=0.2)
# About 3 pull requests and 2 flag references per deployment: the sync benchmark's load.
BUSY = Shape("busy", (1, 15, 22, 22, 16, 12, 8, 4), flagged_share=0.6)
SHAPES = {shape.name: shape for shape in (TYPICAL, BUSY)}

# Per environment for new versions; per kind for versions that ran before.
FAILURE_RATES = {
    "dev": 0.10,
    "staging": 0.09,
    "canary": 0.07,
    "production": 0.05,
    REDEPLOYMENT: 0.03,
    ROLLBACK: 0.02,
}
PROMOTION_RATE = 0.9  # the rest stop before the next environment, superseded
PROMOTION_GAP_UNITS = (0.5, 5.0)  # working hours between one environment and the next
REDEPLOYMENT_RATE = 0.04
STUCK_RATE = 0.01  # of the last fortnight's deployments, left open for ever
RECENT_MS = 14 * DAY_MS
LOG_3, LOG_6 = math.log(3), math.log(6)  # median review and coding, in working hours
ARCHIVE_AFTER_MS = 30 * DAY_MS

Scope = tuple[str, str, str]  # (project, environment, application)
STAGE_FIELDS = (
    "coding_duration_ms",
    "review_duration_ms",
    "wait_duration_ms",
    "deploy_duration_ms",
    "total_lead_time_ms",
)


def _activity(weekday: int, hour: int) -> float:
    """How busy a local hour is, relative to a weekday office hour."""
    if weekday >= 5:
        return 0.03 if 9 <= hour < 20 else 0.005
    if 9 <= hour < 18:
        return 1.0
    if 7 <= hour < 9 or 18 <= hour < 22:
        return 0.1
    return 0.01


class Timeline:
    """Maps working units to epoch milliseconds and back, hour by hour up to `end_ms`.

    Units accumulate at `_activity` per local hour, so an even spread in units is the
    working-hours rhythm in wall-clock time; stepping a few units forward skips nights.
    """

    def __init__(self, *, end_ms: int, tz: tzinfo, history_days: int = HISTORY_DAYS):
        first = (end_ms - (history_days + LEAD_IN_DAYS) * DAY_MS) // HOUR_MS * HOUR_MS
        self._first_ms = first
        self._end_ms = end_ms
        self._density: list[float] = []
        self._cumulative = [0.0]
        for hour_start in range(first, end_ms, HOUR_MS):
            local = from_millis(hour_start + HOUR_MS // 2).astimezone(tz)
            density = _activity(local.weekday(), local.hour)
            length = min(HOUR_MS, end_ms - hour_start) / HOUR_MS
            self._density.append(density)
            self._cumulative.append(self._cumulative[-1] + density * length)
        self.end = self._cumulative[-1]
        self.start = self.units_at(end_ms - history_days * DAY_MS)

    def units_at(self, millis: int) -> float:
        hour, offset = divmod(millis - self._first_ms, HOUR_MS)
        return self._cumulative[hour] + self._density[hour] * offset / HOUR_MS

    def millis_at(self, units: float) -> int:
        if units <= 0:
            return self._first_ms
        if units >= self.end:
            return self._end_ms
        hour = bisect_right(self._cumulative, units) - 1
        offset = (units - self._cumulative[hour]) / self._density[hour]
        return min(self._first_ms + hour * HOUR_MS + int(offset * HOUR_MS), self._end_ms)


# ---------------------------------------------------------------------------
# Output


@dataclass
class DemoChunk:
    """Unsaved rows; every row's parents are in this chunk or an earlier one."""

    deployments: list[Deployment] = field(default_factory=list)
    pull_requests: list[PullRequest] = field(default_factory=list)
    pull_request_flag_references: list[PullRequestFlagReference] = field(default_factory=list)
    pull_request_links: list[DeploymentPullRequest] = field(default_factory=list)
    flag_references: list[FlagReference] = field(default_factory=list)
    events: list[DeploymentEvent] = field(default_factory=list)

    def tables(self) -> list[tuple[type[models.Model], list[Any]]]:
        """Each model with its rows, parents before children."""
        return [
            (Deployment, self.deployments),
            (PullRequest, self.pull_requests),
            (PullRequestFlagReference, self.pull_request_flag_references),
            (DeploymentPullRequest, self.pull_request_links),
            (FlagReference, self.flag_references),
            (DeploymentEvent, self.events),
        ]

    def add(self, bundle: _Bundle) -> None:
        self.deployments.append(bundle.deployment)
        self.pull_request_links.extend(bundle.links)
        self.flag_references.extend(bundle.flag_references)
        self.events.extend(bundle.events)


@dataclass(slots=True)
class _Change:
    """A pull request with the times the model does not keep."""

    model: PullRequest
    first_commit_ms: int
    create_ms: int
    merge_ms: int
    flag_references: list[PullRequestFlagReference]


@dataclass(slots=True)
class _Changes:
    """A release's pull requests, and what every deployment of it says about them."""

    items: list[_Change]
    contributors: int = 0
    lines_added: int = 0
    lines_deleted: int = 0
    # Averages over the pull requests, to the millisecond.
    coding_ms: int = 0
    review_ms: int = 0
    merge_ms: int = 0
    earliest_commit_ms: int = 0
    # Flag references summed per flag: key → [added, removed].
    flags: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, items: list[_Change]) -> _Changes:
        if not items:
            return cls(items)
        flags: dict[str, list[int]] = {}
        for item in items:
            for reference in item.flag_references:
                counts = flags.setdefault(reference.flag_key, [0, 0])
                counts[0] += reference.references_added
                counts[1] += reference.references_removed
        return cls(
            items,
            contributors=len({item.model.author for item in items}),
            lines_added=sum(item.model.lines_added for item in items),
            lines_deleted=sum(item.model.lines_deleted for item in items),
            coding_ms=_mean([item.create_ms - item.first_commit_ms for item in items]),
            review_ms=_mean([item.merge_ms - item.create_ms for item in items]),
            merge_ms=_mean([item.merge_ms for item in items]),
            earliest_commit_ms=min(item.first_commit_ms for item in items),
            flags=flags,
        )


NO_CHANGES = _Changes([])


@dataclass(slots=True)
class _Bundle:
    """One deployment and the rows that belong to it alone."""

    deployment: Deployment
    start_ms: int
    end_ms: int | None
    links: list[DeploymentPullRequest]
    flag_references: list[FlagReference]
    events: list[DeploymentEvent]


@dataclass(slots=True)
class _AppState:
    next_pull_request: int
    build: int
    semver: list[int]


def generate(
    *,
    deployments: int,
    now: datetime,
    tz: tzinfo,
    seed: int = DEFAULT_SEED,
    chunk_size: int = CHUNK_SIZE,
    shape: Shape = TYPICAL,
) -> Iterator[DemoChunk]:
    """Yields exactly `deployments` deployments with their rows, in chunks of about
    `chunk_size`, covering the year before `now` (an aware datetime)."""
    if deployments < 0:
        raise ValueError(f"deployments must be zero or more, not {deployments}")
    return _Generator(total=deployments, now=now, tz=tz, seed=seed, shape=shape).run(chunk_size)


class _Generator:
    def __init__(self, *, total: int, now: datetime, tz: tzinfo, seed: int, shape: Shape):
        self.shape = shape
        self.rng = random.Random(seed)
        self.total = total
        self.now_ms = to_millis(now)
        self.timeline = Timeline(end_ms=self.now_ms, tz=tz)
        self.emitted = 0
        self.chunk = DemoChunk()
        # Per scope, the latest finished deployment: held back until a later one replaces
        # it, so that the last one can still be marked active before it is written.
        self.held: dict[Scope, _Bundle] = {}
        # Per scope, when its last deployment ends: the next one starts after it.
        self.free_at: dict[Scope, int] = {}
        rng = self.rng
        self.apps = {
            app.key: _AppState(
                next_pull_request=rng.randint(100, 2000),
                build=rng.randint(1000, 9000),
                semver=[rng.randint(1, 3), rng.randint(0, 20), rng.randint(0, 9)],
            )
            for app in APPLICATIONS
        }

    def run(self, chunk_size: int) -> Iterator[DemoChunk]:
        rng, timeline = self.rng, self.timeline
        span = timeline.end - timeline.start
        since_yield = 0
        while self.emitted < self.total:
            # The n-th deployment's release starts at the n-th quantile of working time,
            # so exactly `total` deployments cover the whole year whatever the chains do.
            units = timeline.start + (self.emitted + rng.random()) * span / self.total
            app = APPLICATIONS[bisect_right(APPLICATION_WEIGHTS, rng.random() * TOTAL_WEIGHT)]
            before = self.emitted
            if not (rng.random() < REDEPLOYMENT_RATE and self._redeploy(app, units)):
                self._release(app, units)
            since_yield += self.emitted - before
            if since_yield >= chunk_size:
                yield self._take_chunk()
                since_yield = 0
        for bundle in self.held.values():
            bundle.deployment.active = True
            bundle.deployment.archived = False  # what runs now is never archived
            self.chunk.add(bundle)
        if self.chunk.deployments or self.chunk.pull_requests:
            yield self._take_chunk()

    def _take_chunk(self) -> DemoChunk:
        chunk, self.chunk = self.chunk, DemoChunk()
        return chunk

    # -- releases ------------------------------------------------------------

    def _release(self, app: Application, units: float) -> None:
        """A new version along the promotion chain, until it stops."""
        rng = self.rng
        changes = _Changes.of(self._pull_requests(app, units))
        version, commit_sha = self._next_version(app, changes.items)
        state = self.apps[app.key]
        state.build += rng.randint(1, 3)  # not every build is deployed
        metadata = {"buildNumber": str(state.build), "triggeredBy": "ci", "commitSha": commit_sha}
        for change in changes.items:
            self.chunk.pull_requests.append(change.model)
            self.chunk.pull_request_flag_references.extend(change.flag_references)

        previous_end = 0
        for index, environment in enumerate(app.environments):
            if index:
                if rng.random() > PROMOTION_RATE:
                    return
                units += rng.uniform(*PROMOTION_GAP_UNITS)
            if self.emitted >= self.total:
                return
            planned = max(self.timeline.millis_at(units), previous_end + MINUTE_MS)
            start = self._start_in_scope(app, environment, planned)
            if start is None:
                return  # not promoted yet
            bundle = self._deployment(
                app, environment, FORWARD, version, dict(metadata), start, changes
            )
            self._emit(bundle)
            previous_end = bundle.end_ms or 0
            status = bundle.deployment.status
            if status == FAILED:
                self._maybe_roll_back(app, environment, bundle)
            if status != FINISHED:
                return

    def _redeploy(self, app: Application, units: float) -> bool:
        """The running version again (a config change, a restart); False if none runs."""
        rng = self.rng
        environment = "production" if rng.random() < 0.6 else rng.choice(app.environments)
        running = self.held.get((app.project_key, environment, app.key))
        if running is None:
            return False
        start = self._start_in_scope(app, environment, self.timeline.millis_at(units))
        if start is None:
            return False
        metadata = {
            **running.deployment.metadata,
            "triggeredBy": rng.choice(TEAMS[app.project_key]),
        }
        version = running.deployment.application_version
        self._emit(self._deployment(app, environment, REDEPLOYMENT, version, metadata, start))
        return True

    def _maybe_roll_back(self, app: Application, environment: str, failed: _Bundle) -> None:
        """Back to the version that ran before the failure, most often in production."""
        rng = self.rng
        rate = 0.7 if environment in ("canary", "production") else 0.25
        running = self.held.get((app.project_key, environment, app.key))
        if rng.random() >= rate or running is None or self.emitted >= self.total:
            return
        assert failed.end_ms is not None
        start = failed.end_ms + rng.randint(2, 20) * MINUTE_MS
        if start >= self.now_ms:
            return
        metadata = {
            **running.deployment.metadata,
            "triggeredBy": rng.choice(TEAMS[app.project_key]),
            "rollbackOf": failed.deployment.application_version,
        }
        version = running.deployment.application_version
        self._emit(self._deployment(app, environment, ROLLBACK, version, metadata, start))

    def _start_in_scope(self, app: Application, environment: str, planned: int) -> int | None:
        """When a deployment can start: after the scope's previous one, before now.

        None when that is after now, except for a release's first deployment, which
        always happens (overlapping if it must) so that every release counts.
        """
        previous_end = self.free_at.get((app.project_key, environment, app.key), 0)
        start = max(planned, previous_end + MINUTE_MS)
        if start < self.now_ms:
            return start
        return planned if environment == app.environments[0] else None

    # -- rows ----------------------------------------------------------------

    def _pull_requests(self, app: Application, units: float) -> list[_Change]:
        rng, timeline = self.rng, self.timeline
        state = self.apps[app.key]
        weights = self.shape.cumulative_weights
        count = PULL_REQUEST_COUNTS[bisect_right(weights, rng.random() * weights[-1])]
        changes = []
        for _ in range(count):
            # Times in working units, so that people code and review in office hours.
            merged = units - 0.05 - rng.expovariate(1 / 2)
            created = merged - rng.lognormvariate(LOG_3, 0.9)
            first_commit = created - rng.lognormvariate(LOG_6, 0.8)
            number = state.next_pull_request
            state.next_pull_request += rng.randint(1, 4)  # some are closed, never deployed
            lines_added = int(rng.lognormvariate(3.6, 1.1)) + 1
            create_ms = timeline.millis_at(created)
            merge_ms = timeline.millis_at(merged)
            shas = f"{rng.getrandbits(84):021x}"  # merge, base and head commits
            pull_request = exact(
                PullRequest,
                id=self._uuid(),
                external_id=str(number),
                title=rng.choice(TITLE_TEMPLATES).format(rng.choice(TITLE_OBJECTS)),
                status="merged",
                author=rng.choice(TEAMS[app.project_key]),
                create_time=from_millis(create_ms),
                merge_time=from_millis(merge_ms),
                merge_commit_key=shas[:7],
                base_commit_key=shas[7:14],
                head_commit_key=shas[14:],
                files_changed=max(1, int(lines_added / rng.uniform(10, 60))),
                lines_added=lines_added,
                lines_deleted=int(lines_added * rng.uniform(0.05, 0.9)),
                url=f"https://github.com/acme/{app.key}/pull/{number}",
            )
            changes.append(
                _Change(
                    model=pull_request,
                    first_commit_ms=timeline.millis_at(first_commit),
                    create_ms=create_ms,
                    merge_ms=merge_ms,
                    flag_references=self._pull_request_flags(app, pull_request),
                )
            )
        return changes

    def _pull_request_flags(
        self, app: Application, pull_request: PullRequest
    ) -> list[PullRequestFlagReference]:
        rng = self.rng
        if rng.random() >= self.shape.flagged_share:
            return []
        keys = rng.sample(FLAGS[app.project_key], rng.choice((1, 1, 2)))
        references = []
        for position, key in enumerate(keys):
            added, removed = rng.randint(0, 4), rng.randint(0, 3)
            references.append(
                exact(
                    PullRequestFlagReference,
                    id=None,
                    pull_request_id=pull_request.id,
                    project_key=app.project_key,
                    flag_key=key,
                    references_added=added or (0 if removed else 1),
                    references_removed=removed,
                    position=position,
                )
            )
        return references

    def _next_version(self, app: Application, changes: Sequence[_Change]) -> tuple[str, str]:
        """The release's version and the full SHA of the commit it was built from."""
        rng = self.rng
        if app.semver:
            semver = self.apps[app.key].semver
            bump = rng.random()
            if bump < 0.02:
                semver[:] = [semver[0] + 1, 0, 0]
            elif bump < 0.3:
                semver[1:] = [semver[1] + 1, 0]
            else:
                semver[2] += 1
            return "v{}.{}.{}".format(*semver), f"{rng.getrandbits(160):040x}"
        if changes:
            # Built from the last merge.
            short = max(changes, key=lambda change: change.merge_ms).model.merge_commit_key
        else:
            short = f"{rng.getrandbits(28):07x}"
        return short, f"{short}{rng.getrandbits(132):033x}"

    def _deployment(
        self,
        app: Application,
        environment: str,
        kind: str,
        version: str,
        metadata: dict[str, str],
        start: int,
        changes: _Changes = NO_CHANGES,
    ) -> _Bundle:
        status, end = self._outcome(app, environment, kind, start)
        deployment_id = self._uuid()
        deployment = exact(
            Deployment,
            id=deployment_id,
            project_key=app.project_key,
            environment_key=environment,
            application_key=app.key,
            application_version=version,
            status=status,
            kind=kind,
            active=False,  # set on the latest finished one at the end
            archived=self._archived(status, start),
            started_at=from_millis(start),
            ended_at=None if end is None else from_millis(end),
            duration_ms=None if end is None else end - start,
            number_of_contributors=changes.contributors,
            number_of_pull_requests=len(changes.items),
            lines_added=changes.lines_added,
            lines_deleted=changes.lines_deleted,
            metadata=metadata,
            **_lead_time(changes, start, end),
        )
        return _Bundle(
            deployment=deployment,
            start_ms=start,
            end_ms=end,
            links=_links(deployment_id, changes.items, start, end),
            flag_references=_flag_references(deployment_id, app, changes),
            events=self._events(app, deployment, start, end),
        )

    def _outcome(
        self, app: Application, environment: str, kind: str, start: int
    ) -> tuple[str, int | None]:
        """Status and end time; no end while it runs or is stuck."""
        rng = self.rng
        duration = int(rng.lognormvariate(app.log_deploy_ms, 0.5))
        if environment == "canary":
            duration += rng.randint(10, 30) * MINUTE_MS  # the canary bakes
        failed = rng.random() < FAILURE_RATES[kind if kind != FORWARD else environment]
        if failed:
            duration = int(duration * rng.uniform(0.2, 0.9))
        end = start + duration
        self.free_at[(app.project_key, environment, app.key)] = end
        if (
            end >= self.now_ms
            or self.emitted == self.total - 1  # the newest is always in progress
            or (start >= self.now_ms - RECENT_MS and rng.random() < STUCK_RATE)
        ):
            return STARTED, None
        return (FAILED if failed else FINISHED), end

    def _archived(self, status: str, start: int) -> bool:
        """Someone tidied up: a quarter of the failures, a few old ones."""
        rng = self.rng
        if status == FAILED:
            return rng.random() < 0.25
        return start < self.now_ms - ARCHIVE_AFTER_MS and rng.random() < 0.015

    def _events(
        self, app: Application, deployment: Deployment, start: int, end: int | None
    ) -> list[DeploymentEvent]:
        """The timeline: started, maybe a custom check, then finished or failed."""
        event = partial(_event, app, deployment)
        events = [event(STARTED, deployment.started_at)]
        if end is None:
            return events
        check = self._check(deployment.status, deployment.environment_key)
        if check:
            metadata, fraction = check
            events.append(
                event("custom", from_millis(start + int((end - start) * fraction)), metadata)
            )
        events.append(event(deployment.status, deployment.ended_at))
        return events

    def _check(self, status: str, environment: str) -> tuple[dict[str, Any], float] | None:
        """A custom event some deployments report, and how far into them it comes."""
        rng = self.rng
        if status == FAILED and rng.random() < 0.5:
            return {"name": "health-check-failed", "check": "GET /healthz"}, 0.8
        if status == FINISHED and environment != "dev" and rng.random() < 0.3:
            return {"name": "smoke-tests-passed", "tests": rng.randint(20, 120)}, 0.7
        return None

    def _emit(self, bundle: _Bundle) -> None:
        self.emitted += 1
        deployment = bundle.deployment
        if deployment.status == FINISHED:
            scope = (deployment.project_key, deployment.environment_key, deployment.application_key)
            held = self.held.get(scope)
            latest = held is None or (bundle.start_ms, deployment.id) > (
                held.start_ms,
                held.deployment.id,
            )
            if latest:
                self.held[scope] = bundle
                if held is None:
                    return
                bundle = held
        self.chunk.add(bundle)

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


def _mean(values: Sequence[int]) -> int:
    return (sum(values) + len(values) // 2) // len(values)


def _lead_time(changes: _Changes, start: int, end: int | None) -> dict[str, int | None]:
    """A deployment's `leadTime` and stages: see the module docstring."""
    if not changes.items:
        return {"lead_time_ms": 0, **dict.fromkeys(STAGE_FIELDS)}
    coding, review = changes.coding_ms, changes.review_ms
    wait = start - changes.merge_ms
    if end is None:
        return {
            "lead_time_ms": 0,
            "coding_duration_ms": coding,
            "review_duration_ms": review,
            "wait_duration_ms": wait,
            "deploy_duration_ms": None,
            "total_lead_time_ms": None,
        }
    deploy = end - start
    return {
        "lead_time_ms": end - changes.earliest_commit_ms,
        "coding_duration_ms": coding,
        "review_duration_ms": review,
        "wait_duration_ms": wait,
        "deploy_duration_ms": deploy,
        "total_lead_time_ms": coding + review + wait + deploy,
    }


def _links(
    deployment_id: uuid.UUID, changes: Sequence[_Change], start: int, end: int | None
) -> list[DeploymentPullRequest]:
    """Each pull request's lead time in this deployment's environment: it ships there
    once, so max and avg are the same."""
    deploy = None if end is None else end - start
    links = []
    for position, change in enumerate(changes):
        wait = start - change.merge_ms
        total = None if end is None else end - change.first_commit_ms
        links.append(
            exact(
                DeploymentPullRequest,
                id=None,
                deployment_id=deployment_id,
                pull_request_id=change.model.id,
                position=position,
                coding_duration_ms=change.create_ms - change.first_commit_ms,
                review_duration_ms=change.merge_ms - change.create_ms,
                max_wait_duration_ms=wait,
                avg_wait_duration_ms=wait,
                max_deploy_duration_ms=deploy,
                avg_deploy_duration_ms=deploy,
                max_total_lead_time_ms=total,
                avg_total_lead_time_ms=total,
            )
        )
    return links


def _flag_references(
    deployment_id: uuid.UUID, app: Application, changes: _Changes
) -> list[FlagReference]:
    """The deployment's flag references: its pull requests' ones, summed per flag."""
    return [
        exact(
            FlagReference,
            id=None,
            deployment_id=deployment_id,
            project_key=app.project_key,
            flag_key=key,
            references_added=added,
            references_removed=removed,
            position=position,
        )
        for position, (key, (added, removed)) in enumerate(changes.flags.items())
    ]


def _event(
    app: Application,
    deployment: Deployment,
    event_type: str,
    moment: datetime,
    metadata: dict[str, Any] | None = None,
) -> DeploymentEvent:
    return exact(
        DeploymentEvent,
        id=None,
        deployment_id=deployment.id,
        event_type=event_type,
        event_time=moment,
        application_name=app.name,
        application_kind=app.kind,
        version_name=deployment.application_version,
        event_metadata=metadata,
        received_at=None,  # stamped on insert
        fingerprint="",  # only events posted to the API are deduplicated
    )


# ---------------------------------------------------------------------------
# The service: seed the cache


class CacheNotEmpty(Exception):
    """The cache holds deployments and the caller did not say to replace them."""

    def __init__(self, count: int):
        self.count = count
        super().__init__(f"The cache already holds {count:,} deployments")


@dataclass(frozen=True)
class SeedResult:
    counts: dict[type[models.Model], int]  # rows written per model; empty when skipped
    skipped_because: int = 0  # deployments already cached when --if-empty left them

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def demo_seed(
    *,
    deployments: int,
    seed: int = DEFAULT_SEED,
    now: datetime,
    tz: tzinfo,
    if_empty: bool = False,
    replace: bool = False,
    shape: Shape = TYPICAL,
    progress: Callable[[int], None] = lambda count: None,
) -> SeedResult:
    """Fills the cache with `deployments` generated deployments, in one transaction.

    Raises ValueError for a negative count, CacheNotEmpty when the cache holds
    deployments and neither `if_empty` (leave them, write nothing) nor `replace` (delete
    every cached deployment and pull request first) is set. `progress` is called with the
    number of deployments written after each chunk.
    """
    if deployments < 0:
        raise ValueError(f"the number of deployments must be zero or more, not {deployments}")
    # One transaction: an interrupted seed leaves the cache as it was. On SQLite it takes
    # the write lock at BEGIN, so the emptiness check cannot go stale.
    with transaction.atomic():
        cached = Deployment.objects.count()
        if cached and if_empty:
            return SeedResult(counts={}, skipped_because=cached)
        if cached and not replace:
            raise CacheNotEmpty(cached)
        if replace:
            bulk.delete_cache()
        counts: Counter[type[models.Model]] = Counter()
        with bulk.bulk_load():
            chunks = generate(deployments=deployments, now=now, tz=tz, seed=seed, shape=shape)
            for chunk in chunks:
                for model, rows in chunk.tables():
                    bulk.insert_rows(model, rows)
                    counts[model] += len(rows)
                progress(len(chunk.deployments))
    return SeedResult(counts=dict(counts))
