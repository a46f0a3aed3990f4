"""Writes LaunchDarkly deployment graphs into the local cache, in bulk.

Import, sync and the edit pipeline's upstream path all store what LaunchDarkly returned
through `cache_graphs`: bulk upserts in batches (`bulk.py`; row-by-row saves run at
about 1,200 rows/s here, and `bulk_create` upserts at about 550 deployments/s). The
caller owns the transaction, so an import file is all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from . import bulk
from .models import (
    Deployment,
    DeploymentPullRequest,
    FlagReference,
    PullRequest,
    PullRequestFlagReference,
)
from .queries import DEPLOYMENT_COLUMNS
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
    result = CacheWriteResult()
    with transaction.atomic():
        for start in range(0, len(graphs), BATCH_SIZE):
            result += _cache_batch(graphs[start : start + BATCH_SIZE])
    return result


def _cache_batch(graphs: Sequence[DeploymentGraph]) -> CacheWriteResult:
    # The last occurrence of an id wins, as if the documents were applied in order.
    deployments = {graph.deployment.id: graph.deployment for graph in graphs}
    cached = Deployment.objects.filter(id__in=list(deployments)).values(*DEPLOYMENT_COLUMNS)
    unchanged = sum(_same(deployments[row["id"]], row) for row in cached)
    existing = len(cached)
    bulk.upsert_rows(Deployment, list(deployments.values()))

    pull_requests = {pr.id: pr for graph in graphs for pr in graph.pull_requests}
    bulk.upsert_rows(PullRequest, list(pull_requests.values()))

    with_pull_requests = [g for g in graphs if g.has_pull_requests]
    if with_pull_requests:
        DeploymentPullRequest.objects.filter(
            deployment_id__in=[g.deployment.id for g in with_pull_requests]
        ).delete()
        links = [
            link for g in _last_per_deployment(with_pull_requests) for link in g.pull_request_links
        ]
        bulk.insert_rows(DeploymentPullRequest, links)
        # A pull request's flag references come with it: replace them wholesale.
        PullRequestFlagReference.objects.filter(pull_request_id__in=list(pull_requests)).delete()
        references = {
            (ref.pull_request_id, ref.project_key, ref.flag_key): ref
            for g in with_pull_requests
            for ref in g.pull_request_flag_references
        }
        bulk.insert_rows(PullRequestFlagReference, list(references.values()))

    with_flags = [g for g in graphs if g.has_flag_references]
    if with_flags:
        flagged_ids = [g.deployment.id for g in with_flags]
        FlagReference.objects.filter(deployment_id__in=flagged_ids).delete()
        bulk.insert_rows(
            FlagReference,
            [ref for g in _last_per_deployment(with_flags) for ref in g.flag_references],
        )

    return CacheWriteResult(
        created=len(deployments) - existing, updated=existing, unchanged=unchanged
    )


def _same(deployment: Deployment, row: dict) -> bool:
    return all(getattr(deployment, column) == value for column, value in row.items())


def _last_per_deployment(graphs: Sequence[DeploymentGraph]) -> list[DeploymentGraph]:
    return list({graph.deployment.id: graph for graph in graphs}.values())
