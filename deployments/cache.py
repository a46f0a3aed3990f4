"""Writes LaunchDarkly deployment graphs into the local cache, in bulk.

Import, sync and the edit pipeline's upstream path all store what LaunchDarkly returned
through `cache_graphs`: bulk upserts in batches (`bulk.py`; row-by-row saves run at
about 1,200 rows/s here, and `bulk_create` upserts at about 550 deployments/s). The
caller owns the transaction, so an import file is all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from . import bulk
from .models import (
    Deployment,
    DeploymentPullRequest,
    FlagReference,
    PullRequest,
    PullRequestFlagReference,
)
from .representation import DeploymentGraph

# SQLite allows 999 parameters in older builds; stay well under it for `IN` lists.
BATCH_SIZE = 400


@dataclass
class CacheWriteResult:
    created: int = 0
    updated: int = 0  # deployments that were cached already, changed or not
    # Of those, how many were cached exactly so (their own columns; a pull request or
    # flag reference changed alone does not count as a change here).
    unchanged: int = 0

    def __iadd__(self, other: CacheWriteResult) -> CacheWriteResult:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def cache_graphs(graphs: Sequence[DeploymentGraph]) -> CacheWriteResult:
    """Upserts deployments, their pull requests and flag references by id.

    A pull request or flag-reference collection that a graph did not carry (not
    expanded upstream) leaves the cached rows alone. All or nothing: a caller's
    transaction widens it (an import file is one).
    """
    return write_batches(prepare_batches(graphs))


@dataclass
class PreparedBatch:
    """Up to BATCH_SIZE graphs as rows ready to write (`bulk.Rows`, keys first), with
    the keys the write deletes by, all as the database takes them. Making one reads no
    database, so sync makes them in its fetching process and sends them over: plain
    strings and numbers on SQLite, cheap to pickle."""

    deployments: bulk.Rows
    pull_requests: bulk.Rows
    # The deployments whose pull requests (and those pull requests' flag references)
    # replace the cached ones, and the pull requests concerned.
    linked_deployment_keys: list[Any]
    pull_request_keys: list[Any]
    links: bulk.Rows
    pull_request_flag_references: bulk.Rows
    # The deployments whose flag references replace the cached ones.
    flagged_deployment_keys: list[Any]
    flag_references: bulk.Rows


def prepare_batches(graphs: Sequence[DeploymentGraph]) -> list[PreparedBatch]:
    return [
        _prepare_batch(graphs[start : start + BATCH_SIZE])
        for start in range(0, len(graphs), BATCH_SIZE)
    ]


def write_batches(batches: Sequence[PreparedBatch]) -> CacheWriteResult:
    result = CacheWriteResult()
    with transaction.atomic():
        for batch in batches:
            result += _write_batch(batch)
    return result


def _prepare_batch(graphs: Sequence[DeploymentGraph]) -> PreparedBatch:
    # The last occurrence of an id wins, as if the documents were applied in order.
    latest = {graph.deployment.id: graph.deployment for graph in graphs}
    deployments = bulk.prepared(Deployment, list(latest.values()))
    # Each deployment's key as the database takes it: the first column of its row.
    key = dict(zip(latest, (row[0] for row in deployments.values), strict=True))
    pull_requests = bulk.prepared(
        PullRequest, list({pr.id: pr for graph in graphs for pr in graph.pull_requests}.values())
    )
    with_pull_requests = _last_per_deployment([g for g in graphs if g.has_pull_requests])
    # A pull request's flag references come with it, and replace its cached ones.
    references = {
        (ref.pull_request_id, ref.project_key, ref.flag_key): ref
        for g in with_pull_requests
        for ref in g.pull_request_flag_references
    }
    with_flags = _last_per_deployment([g for g in graphs if g.has_flag_references])
    links = [link for g in with_pull_requests for link in g.pull_request_links]
    return PreparedBatch(
        deployments=deployments,
        pull_requests=pull_requests,
        linked_deployment_keys=[key[g.deployment.id] for g in with_pull_requests],
        pull_request_keys=[row[0] for row in pull_requests.values] if with_pull_requests else [],
        links=bulk.prepared(DeploymentPullRequest, links),
        pull_request_flag_references=bulk.prepared(
            PullRequestFlagReference, list(references.values())
        ),
        flagged_deployment_keys=[key[g.deployment.id] for g in with_flags],
        flag_references=bulk.prepared(
            FlagReference, [ref for g in with_flags for ref in g.flag_references]
        ),
    )


def _write_batch(batch: PreparedBatch) -> CacheWriteResult:
    stored = bulk.rows_by_key(batch.deployments)
    unchanged = sum(stored.get(row[0]) == row for row in batch.deployments.values)
    bulk.upsert_prepared(batch.deployments)
    bulk.upsert_prepared(batch.pull_requests)
    if batch.linked_deployment_keys:
        bulk.delete_where_in(DeploymentPullRequest, "deployment", batch.linked_deployment_keys)
        bulk.insert_prepared(batch.links)
        bulk.delete_where_in(PullRequestFlagReference, "pull_request", batch.pull_request_keys)
        bulk.insert_prepared(batch.pull_request_flag_references)
    if batch.flagged_deployment_keys:
        bulk.delete_where_in(FlagReference, "deployment", batch.flagged_deployment_keys)
        bulk.insert_prepared(batch.flag_references)
    created = len(batch.deployments.values) - len(stored)
    return CacheWriteResult(created=created, updated=len(stored), unchanged=unchanged)


def _last_per_deployment(graphs: Sequence[DeploymentGraph]) -> list[DeploymentGraph]:
    return list({graph.deployment.id: graph for graph in graphs}.values())
