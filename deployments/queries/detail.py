"""The deployment detail page's reads: one query per section, whatever the counts.

`deployment_detail` returns everything the page shows, as plain dictionaries with the
display values already decided (times in the organisation's timezone, durations
formatted, which URLs may become links), so the template only places them. Rows are
dictionaries: building model instances for 200 pull requests cost more than the
queries, and dictionary lookups are the template engine's fastest path.

Queries, for any number of pull requests, flag references or events: the deployment;
the previous deployment; the pull-request links with their pull requests, each with an
EXISTS probe of the previous deployment's links; its flag references; its events; the
same version elsewhere; the stage columns for the median; its recent changes. Eight,
first deployment or not. Each is fixed SQL (`raw`): building the same queries through
the ORM cost more than running them (0.25 ms for the deployment's own row, against
0.04 ms to run it on SQLite). Written here, the page's reads at 100,000 deployments went
from 6 to 3.3 ms on SQLite and from 10.5 to 7.4 ms on PostgreSQL.

Decisions:
- The median compares with the application's *finished* deployments in the same
  project and environment that started in the `MEDIAN_WINDOW` (90 days) up to this one's
  start, this one excluded, and that have all four stages: what was usual when it
  shipped, so an old deployment's page does not change as newer ones arrive. Of those,
  the newest `MEDIAN_MAX_ROWS` (200) are read: the stage columns are not in an index,
  so each row is a table lookup, and reading a busy application's ~950 rows in 90 days
  took 4 ms on SQLite at 100,000 deployments against 0.8 ms for 200 (a median of 200
  is as telling). Each stage's median is taken on its own in Python
  (`statistics.median`; SQLite has no median aggregate), and so is the median of the
  totals, which is not the sum of the stage medians.
- The previous deployment is the application's latest in the same project and
  environment before this one in (started_at, id) order, whatever its status, archived
  ones included (they happened). "Pull requests since" are this deployment's pull
  requests that the previous one did not ship (a set difference by pull-request id).
"""

from __future__ import annotations

import json
import re
import statistics
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypedDict

from django.db import connection
from django.utils import timezone

from .. import charts
from ..display import exact_duration, format_duration
from ..models import (
    Change,
    Deployment,
    DeploymentEvent,
    DeploymentPullRequest,
    FlagReference,
    PullRequest,
)
from ..paths import deployment_path
from . import DEPLOYMENT_COLUMNS, raw

MEDIAN_WINDOW = timedelta(days=90)
MEDIAN_MAX_ROWS = 200
CHANGES_SHOWN = 20
SAME_VERSION_SHOWN = 50

STAGE_COLUMNS = {
    "coding": "coding_duration_ms",
    "review": "review_duration_ms",
    "wait": "wait_duration_ms",
    "deploy": "deploy_duration_ms",
}
KNOWN_STATUSES = frozenset({"started", "finished", "failed"})
KNOWN_KINDS = frozenset({"forward", "redeployment", "rollback"})
KNOWN_EVENT_TYPES = frozenset({"started", "finished", "failed", "custom"})
# What a link to another deployment shows.
LINKED_COLUMNS = ("id", "environment_key", "application_version", "status", "kind", "started_at")
CHANGE_COLUMNS = ("id", "created_at", "actor_label", "source", "outcome", "reason", "error_message")
FLAG_COLUMNS = ("flag_key", "project_key", "references_added", "references_removed")
EVENT_COLUMNS = ("event_type", "event_time", "event_metadata")

# Only absolute http(s) URLs become links; anything else (javascript:, data:, relative,
# or with whitespace or control characters a browser would strip) stays text.
SAFE_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*", re.IGNORECASE)


class Moment(TypedDict):
    iso: str  # for <time datetime>
    text: str  # as shown, in the organisation's timezone


class Entry(TypedDict):
    """One key/value of metadata: strings as text, anything else as compact JSON."""

    key: str
    value: str
    code: bool


@dataclass(frozen=True)
class StageComparison:
    rows: list[dict[str, Any]]  # per stage and the total: this deployment and the median
    # The chart in each layout (charts.LAYOUTS: wide, narrow), the page showing one by
    # its width; empty when this deployment's stages are not all known.
    charts: tuple[charts.StageChart, ...]
    missing: str  # why there is no chart ("" when there is one)
    median_count: int  # finished deployments behind the median (0: no median)
    median_window_days: int


@dataclass(frozen=True)
class DeploymentDetail:
    deployment: dict[str, Any]
    stages: StageComparison
    pull_requests: list[dict[str, Any]]
    flag_references: list[dict[str, Any]]
    metadata: list[Entry]
    timeline: list[dict[str, Any]]
    timeline_synthesised: bool  # no event rows: entries made from started/ended times
    same_version: list[dict[str, Any]]
    previous: dict[str, Any] | None
    new_pull_requests: list[dict[str, Any]]  # this one's pull requests the previous lacked
    changes: list[dict[str, Any]]
    more_changes: bool  # older changes exist beyond the ones shown


DEPLOYMENT_SELECT = raw.Select.of((Deployment, DEPLOYMENT_COLUMNS))
LINKED_SELECT = raw.Select.of((Deployment, LINKED_COLUMNS))
CHANGE_SELECT = raw.Select.of((Change, CHANGE_COLUMNS))
EVENT_SELECT = raw.Select.of((DeploymentEvent, EVENT_COLUMNS))


def deployment_detail(deployment_id: uuid.UUID) -> DeploymentDetail | None:
    """Everything the detail page shows, or None for an unknown id."""
    found = raw.fetch(
        DEPLOYMENT_SELECT,
        f"SELECT {raw.columns('d', Deployment, DEPLOYMENT_COLUMNS)}"
        f" FROM {raw.table(Deployment)} d WHERE d.id = %s",
        [raw.parameter(Deployment, "id", deployment_id)],
    )
    if not found:
        return None
    row = found[0]
    zone = timezone.get_default_timezone()
    previous = previous_deployment(row)
    pull_requests = pull_request_rows(
        deployment_id, zone, previous_id=None if previous is None else previous["id"]
    )
    timeline, synthesised = timeline_entries(row, zone)
    changes = change_rows(deployment_id, zone)
    return DeploymentDetail(
        deployment=header(row, zone),
        stages=stage_comparison(row),
        pull_requests=pull_requests,
        flag_references=flag_reference_rows(deployment_id),
        metadata=metadata_entries(row["metadata"]),
        timeline=timeline,
        timeline_synthesised=synthesised,
        same_version=same_version_rows(row, zone),
        previous=None if previous is None else _linked_deployment(previous, zone),
        new_pull_requests=[pr for pr in pull_requests if pr["new"]],
        changes=changes[:CHANGES_SHOWN],
        more_changes=len(changes) > CHANGES_SHOWN,
    )


# ---------------------------------------------------------------------------
# Display values


def moment(value: datetime | None, zone: tzinfo, *, seconds: bool = False) -> Moment | None:
    if value is None:
        return None
    # Sliced from the ISO form ("2024-01-31T12:45:22.000+01:00"): strftime cost as
    # much again, and a page with 200 pull requests formats 400 of these.
    iso = value.astimezone(zone).isoformat(timespec="milliseconds")
    return {"iso": iso, "text": f"{iso[:10]} {iso[11:19] if seconds else iso[11:16]}"}


def safe_link(url: str) -> str | None:
    """`url` when it may be a link's href (absolute http or https), else None."""
    return url if SAFE_URL.fullmatch(url) else None


def status_class(status: str) -> str:
    """A CSS class for a status (app.css's badges): known ones by name, any other alike."""
    return f"status-{status}" if status in KNOWN_STATUSES else "status-other"


def kind_class(kind: str) -> str:
    return f"kind-{kind}" if kind in KNOWN_KINDS else "kind-other"


def metadata_entries(metadata: Any) -> list[Entry]:
    """Key/value entries of a metadata object; a non-object is one entry without a key."""
    if metadata is None:
        return []
    if not isinstance(metadata, Mapping):
        return [_entry("", metadata)]
    return [_entry(str(key), value) for key, value in metadata.items()]


def _entry(key: str, value: Any) -> Entry:
    if isinstance(value, str):
        return {"key": key, "value": value, "code": False}
    return {"key": key, "value": compact_json(value), "code": True}


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _count(value: int) -> str:
    return f"{value:,}"


# ---------------------------------------------------------------------------
# Sections


def header(row: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    """The deployment's own facts, ready to show."""
    return {
        "id": row["id"],
        "project": row["project_key"],
        "environment": row["environment_key"],
        "application": row["application_key"],
        "version": row["application_version"],
        "status": row["status"],
        "status_class": status_class(row["status"]),
        "kind": row["kind"],
        "kind_class": kind_class(row["kind"]),
        "active": row["active"],
        "archived": row["archived"],
        "started": moment(row["started_at"], zone, seconds=True),
        "ended": moment(row["ended_at"], zone, seconds=True),
        "duration": format_duration(row["duration_ms"]),
        "duration_exact": exact_duration(row["duration_ms"]),
        "contributors": _count(row["number_of_contributors"]),
        "pull_request_count": _count(row["number_of_pull_requests"]),
        "lines_added": _count(row["lines_added"]),
        "lines_deleted": _count(row["lines_deleted"]),
        "lead_time": format_duration(row["lead_time_ms"]) if row["lead_time_ms"] else "—",
        "lead_time_exact": exact_duration(row["lead_time_ms"]),
    }


# The pull-request table's columns: the link's (its lead time in this environment),
# then the pull request's, named as `.values()` would name them across the relation.
PULL_REQUEST_LINK_COLUMNS = (
    "pull_request_id",
    "coding_duration_ms",
    "review_duration_ms",
    "avg_wait_duration_ms",
    "max_wait_duration_ms",
    "avg_deploy_duration_ms",
    "max_deploy_duration_ms",
    "avg_total_lead_time_ms",
    "max_total_lead_time_ms",
)
PULL_REQUEST_FIELDS = (
    "external_id",
    "title",
    "author",
    "status",
    "create_time",
    "merge_time",
    "files_changed",
    "lines_added",
    "lines_deleted",
    "url",
)
PULL_REQUEST_SELECT = raw.Select.of(
    (DeploymentPullRequest, PULL_REQUEST_LINK_COLUMNS),
    (PullRequest, PULL_REQUEST_FIELDS, "pull_request__"),
    (None, ("new",)),
)
PULL_REQUEST_SQL = """
SELECT {link_columns}, {pull_request_columns},
    NOT EXISTS (
        SELECT 1 FROM {links} shipped
        WHERE shipped.deployment_id = %s AND shipped.pull_request_id = l.pull_request_id
    )
FROM {links} l JOIN {pull_requests} p ON p.id = l.pull_request_id
WHERE l.deployment_id = %s
ORDER BY l.position, l.id
"""
# The deployment just before: the redundant `started_at <=` gives the index a range.
PREVIOUS_SQL = """
SELECT {columns} FROM {table} d
WHERE d.project_key = %s AND d.environment_key = %s AND d.application_key = %s
    AND d.started_at <= %s AND (d.started_at < %s OR d.id < %s)
ORDER BY d.started_at DESC, d.id DESC
LIMIT 1
"""
MEDIAN_SQL = """
SELECT {columns} FROM {table} d
WHERE d.project_key = %s AND d.environment_key = %s AND d.application_key = %s
    AND d.status = %s AND d.started_at >= %s AND d.started_at <= %s AND {known}
    AND d.id <> %s
ORDER BY d.started_at DESC
LIMIT %s
"""


def pull_request_rows(
    deployment_id: uuid.UUID, zone: tzinfo, *, previous_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """The deployment's pull requests in upstream order, each with its lead time in
    this deployment's environment (from the link row) and whether it is `new`: not
    shipped by the deployment `previous_id` (all are new without one).

    One query: the links joined to their pull requests, each with a NOT EXISTS probe of
    the previous deployment's link to the same pull request (an index seek; with no
    previous deployment, the probe's NULL finds nothing, so every one is new). Built
    by the ORM this probe cost 1.5 ms more at 50 pull requests; written here it costs
    about 0.05.
    """
    links = raw.fetch(
        PULL_REQUEST_SELECT,
        PULL_REQUEST_SQL.format(
            link_columns=raw.columns("l", DeploymentPullRequest, PULL_REQUEST_LINK_COLUMNS),
            pull_request_columns=raw.columns("p", PullRequest, PULL_REQUEST_FIELDS),
            links=raw.table(DeploymentPullRequest),
            pull_requests=raw.table(PullRequest),
        ),
        [
            None if previous_id is None else raw.parameter(Deployment, "id", previous_id),
            raw.parameter(Deployment, "id", deployment_id),
        ],
    )
    return [_pull_request_row(link, zone) for link in links]


def _pull_request_row(link: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    url = link["pull_request__url"]
    return {
        "id": link["pull_request_id"],
        "new": bool(link["new"]),
        "number": link["pull_request__external_id"],
        "href": safe_link(url),
        "url": url,
        "title": link["pull_request__title"],
        "author": link["pull_request__author"],
        "status": link["pull_request__status"],
        "created": moment(link["pull_request__create_time"], zone),
        "merged": moment(link["pull_request__merge_time"], zone),
        "files": _count(link["pull_request__files_changed"]),
        "lines_added": _count(link["pull_request__lines_added"]),
        "lines_deleted": _count(link["pull_request__lines_deleted"]),
        "total": _avg_max(link["avg_total_lead_time_ms"], link["max_total_lead_time_ms"]),
        "total_exact": _avg_max_exact(
            link["avg_total_lead_time_ms"], link["max_total_lead_time_ms"]
        ),
        # The stages as text only (the total carries the exact figure): a title on every
        # cell was a fifth of the table's rendering time at 50 pull requests.
        "coding": format_duration(link["coding_duration_ms"]),
        "review": format_duration(link["review_duration_ms"]),
        "wait": _avg_max(link["avg_wait_duration_ms"], link["max_wait_duration_ms"]),
        "deploy": _avg_max(link["avg_deploy_duration_ms"], link["max_deploy_duration_ms"]),
    }


def _avg_max(average: int | None, maximum: int | None) -> str:
    """A per-environment figure: the average, and the maximum when it differs (the pull
    request shipped more than once there)."""
    text = format_duration(average)
    if maximum is not None and maximum != average:
        return f"{text} (max {format_duration(maximum)})"
    return text


def _avg_max_exact(average: int | None, maximum: int | None) -> str:
    exact = exact_duration(average)
    if maximum is not None and maximum != average:
        return f"average {exact}, maximum {exact_duration(maximum)}"
    return exact


def flag_reference_rows(deployment_id: uuid.UUID) -> list[dict[str, str]]:
    """The deployment's flag references in upstream order, counts as text (the template
    engine localises every integer it prints, which doubled this table's cost)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {raw.columns('f', FlagReference, FLAG_COLUMNS)}"
            f" FROM {raw.table(FlagReference)} f WHERE f.deployment_id = %s"
            " ORDER BY f.position, f.id",
            [raw.parameter(FlagReference, "deployment_id", deployment_id)],
        )
        references = cursor.fetchall()  # text and integers: nothing to convert
    return [
        {"flag_key": flag, "project_key": project, "added": _count(add), "removed": _count(rem)}
        for flag, project, add, rem in references
    ]


def timeline_entries(row: Mapping[str, Any], zone: tzinfo) -> tuple[list[dict[str, Any]], bool]:
    """The deployment's events in time order; without any event rows (imported or
    synced data), its start and end as entries, and True to say so."""
    events = raw.fetch(
        EVENT_SELECT,
        f"SELECT {raw.columns('e', DeploymentEvent, EVENT_COLUMNS)}"
        f" FROM {raw.table(DeploymentEvent)} e WHERE e.deployment_id = %s"
        " ORDER BY e.event_time, e.id",
        [raw.parameter(DeploymentEvent, "deployment_id", row["id"])],
    )
    if events:
        return [
            _timeline_entry(event["event_type"], event["event_time"], zone, event["event_metadata"])
            for event in events
        ], False
    entries = [_timeline_entry("started", row["started_at"], zone)]
    if row["ended_at"] is not None:
        ended = row["status"] if row["status"] in ("finished", "failed") else "ended"
        entries.append(_timeline_entry(ended, row["ended_at"], zone))
    return entries, True


def _timeline_entry(
    event_type: str, at: datetime, zone: tzinfo, metadata: Any = None
) -> dict[str, Any]:
    return {
        "type": event_type,
        "type_class": event_type if event_type in KNOWN_EVENT_TYPES else "other",
        "when": moment(at, zone, seconds=True),
        "metadata": metadata_entries(metadata),
    }


def same_version_rows(row: Mapping[str, Any], zone: tzinfo) -> list[dict[str, Any]]:
    """The same application version's deployments in the project's other environments,
    in the order they started."""
    others = raw.fetch(
        LINKED_SELECT,
        f"SELECT {raw.columns('d', Deployment, LINKED_COLUMNS)} FROM {raw.table(Deployment)} d"
        " WHERE d.project_key = %s AND d.application_key = %s"
        " AND d.application_version = %s AND d.environment_key <> %s"
        " ORDER BY d.started_at, d.id LIMIT %s",
        [
            row["project_key"],
            row["application_key"],
            row["application_version"],
            row["environment_key"],
            SAME_VERSION_SHOWN,
        ],
    )
    return [_linked_deployment(other, zone) for other in others]


def _linked_deployment(row: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row["id"],
        "url": deployment_path(row["id"]),
        "environment": row["environment_key"],
        "version": row["application_version"],
        "status": row["status"],
        "status_class": status_class(row["status"]),
        "kind": row["kind"],
        "kind_class": kind_class(row["kind"]),
        "started": moment(row["started_at"], zone),
    }


def previous_deployment(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The application's deployment just before this one in its environment, in
    (started_at, id) order, so that a tie on the start time is still decided.

    SQLite walks the scope index (project, environment, started_at, id) back from this
    deployment to the first row of the application: 1 ms here, where an environment
    holds a handful of applications.
    """
    started_at = raw.parameter(Deployment, "started_at", row["started_at"])
    found = raw.fetch(
        LINKED_SELECT,
        PREVIOUS_SQL.format(
            columns=raw.columns("d", Deployment, LINKED_COLUMNS), table=raw.table(Deployment)
        ),
        [
            row["project_key"],
            row["environment_key"],
            row["application_key"],
            started_at,
            started_at,
            raw.parameter(Deployment, "id", row["id"]),
        ],
    )
    return found[0] if found else None


def change_rows(deployment_id: uuid.UUID, zone: tzinfo) -> list[dict[str, Any]]:
    """The newest recorded changes, one more than shown (to know whether more exist)."""
    sources = dict(Change.Source.choices)
    outcomes = dict(Change.Outcome.choices)
    changes = raw.fetch(
        CHANGE_SELECT,
        f"SELECT {raw.columns('c', Change, CHANGE_COLUMNS)} FROM {raw.table(Change)} c"
        " WHERE c.deployment_id = %s ORDER BY c.created_at DESC, c.id DESC LIMIT %s",
        [raw.parameter(Change, "deployment_id", deployment_id), CHANGES_SHOWN + 1],
    )
    return [
        {
            "id": change["id"],
            "when": moment(change["created_at"], zone, seconds=True),
            "who": change["actor_label"],
            "source": sources.get(change["source"], change["source"]),
            "outcome": outcomes.get(change["outcome"], change["outcome"]),
            "applied": change["outcome"] == Change.Outcome.APPLIED,
            "reason": change["reason"],
            "error": change["error_message"],
        }
        for change in changes
    ]


# ---------------------------------------------------------------------------
# Lead-time stages against the application's median


def stage_medians(row: Mapping[str, Any]) -> tuple[dict[str, int | None] | None, int]:
    """Per-stage medians (and of the total) over the comparison set in the module
    docstring, with the number of deployments behind them; None without any."""
    columns = (*STAGE_COLUMNS.values(), "total_lead_time_ms")
    quote = connection.ops.quote_name
    known = " AND ".join(f"d.{quote(column)} IS NOT NULL" for column in STAGE_COLUMNS.values())
    with connection.cursor() as cursor:
        cursor.execute(
            MEDIAN_SQL.format(
                columns=raw.columns("d", Deployment, columns),
                table=raw.table(Deployment),
                known=known,
            ),
            [
                row["project_key"],
                row["environment_key"],
                row["application_key"],
                "finished",
                raw.parameter(Deployment, "started_at", row["started_at"] - MEDIAN_WINDOW),
                raw.parameter(Deployment, "started_at", row["started_at"]),
                raw.parameter(Deployment, "id", row["id"]),
                MEDIAN_MAX_ROWS,
            ],
        )
        samples = cursor.fetchall()  # integers: nothing to convert
    if not samples:
        return None, 0
    medians = {}
    for index, stage in enumerate((*STAGE_COLUMNS, "total")):
        values = [sample[index] for sample in samples if sample[index] is not None]
        medians[stage] = round(statistics.median(values)) if values else None
    return medians, len(samples)


def stage_comparison(row: Mapping[str, Any]) -> StageComparison:
    medians, count = stage_medians(row)
    own = {stage: row[column] for stage, column in STAGE_COLUMNS.items()}
    missing = _missing_stages_reason(row, own)
    drawn: tuple[charts.StageChart, ...] = ()
    if not missing:
        bars = [("This deployment", own)]
        if medians is not None:
            bars.append(("Median", {stage: medians[stage] for stage in STAGE_COLUMNS}))
        drawn = charts.stage_charts(bars)
    rows = [
        _comparison_row(name, own[stage], medians and medians[stage], stage=stage)
        for stage, name in charts.STAGES
    ]
    rows.append(_comparison_row("Total", row["total_lead_time_ms"], medians and medians["total"]))
    return StageComparison(
        rows=rows,
        charts=drawn,
        missing=missing,
        median_count=count,
        median_window_days=MEDIAN_WINDOW.days,
    )


def _missing_stages_reason(row: Mapping[str, Any], own: Mapping[str, int | None]) -> str:
    if row["coding_duration_ms"] is None:
        if row["number_of_pull_requests"] == 0:
            return "No lead-time stages: this deployment shipped no pull requests."
        return "No lead-time stages were reported for this deployment."
    if any(value is None for value in own.values()):
        if row["ended_at"] is None:
            return (
                "This deployment has not ended, so its deploy stage and total lead time "
                "are not known yet."
            )
        return "Some lead-time stages were not reported for this deployment."
    return ""


def _comparison_row(
    name: str, value: int | None, median: int | None, *, stage: str = ""
) -> dict[str, Any]:
    """A row of the stage table: a stage's (its CSS name `stage`), or the total's."""
    text, median_text = format_duration(value), format_duration(median)
    return {
        "name": name,
        "stage": stage,
        "total": not stage,
        "value": value,
        "text": text,
        "exact": exact_duration(value, text),
        "median": median,
        "median_text": median_text,
        "median_exact": exact_duration(median, median_text),
        "ratio": _ratio(value, median),
        # For <data value>: digits as they are (the template engine would localise an
        # integer, and spend time on it).
        "value_data": "" if value is None else str(value),
        "median_data": "" if median is None else str(median),
    }


def _ratio(value: int | None, median: int | None) -> str:
    """This deployment's figure as a multiple of the median ("2.5×"); empty when not
    comparable."""
    if value is None or not median or median < 0 or value < 0:
        return ""
    ratio = value / median
    if ratio >= 10:
        return f"{ratio:.0f}×"
    if ratio >= 0.1 or ratio == 0:
        return f"{ratio:.1f}×"
    return "under 0.1×"
