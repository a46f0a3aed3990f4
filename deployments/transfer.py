"""Import and export of deployment files in LaunchDarkly's own JSON.

A file is what LaunchDarkly's list endpoint returns with `expand=pullRequests,flagReferences`
(a `DeploymentCollectionRep`), so a LaunchDarkly export imports here and an export from here
validates against LaunchDarkly's schema. `representation.py` maps each deployment; this
module adds what whole files need: strict JSON, all or nothing per file, and an export that
streams, so that 100,000 deployments never sit in memory at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.db import DataError, transaction
from django.db.models import QuerySet

from . import cache
from .models import Deployment
from .queries import DEPLOYMENT_COLUMNS, deployment_documents, older_than
from .representation import (
    EXPANDABLE,
    DeploymentGraph,
    RepresentationError,
    documents_in_file,
    parse_deployment,
)
from .strictjson import JSONRejected, strict_loads

# Deployments fetched per export query (with one more query per expanded relation).
EXPORT_CHUNK_SIZE = 500


class ImportFailed(Exception):
    """A file that was not imported; each of `errors` says where and what is wrong."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass(frozen=True)
class ImportResult:
    deployments: int
    created: int
    updated: int


@dataclass
class ExportResult:
    deployments: int = 0
    # An export has no project key in it, so the caller may warn when it mixes projects.
    project_keys: set[str] = field(default_factory=set)


def _strict_loads(content: bytes | str) -> Any:
    try:
        return strict_loads(content)
    except JSONRejected as error:
        message = str(error)
        if not message.startswith("not "):
            message = f"not valid JSON: {message}"
        raise ImportFailed([message]) from error


# ---------------------------------------------------------------------------
# Import


def deployments_import(*, content: bytes | str, project_key: str) -> ImportResult:
    """Imports one file of LaunchDarkly deployment JSON into `project_key`, all or nothing.

    `content` holds a `DeploymentCollectionRep`, a list of them, a list of `DeploymentRep`s,
    or one `DeploymentRep`. Deployments keep their ids, so importing a file again updates
    the same rows. Collections a document did not expand leave the cached rows alone.

    Raises ImportFailed, having written nothing, when: the content is not strict JSON (see
    `strictjson.strict_loads`); the file is not one of the shapes above; any field of any deployment
    is missing or wrong (every such field is named, e.g. `items[3].startedAt`); two
    deployments share an id; a deployment id already belongs to another project; or the
    database rejects a value (an integer beyond its column).
    """
    data = _strict_loads(content)
    try:
        documents = documents_in_file(data)
    except RepresentationError as error:
        raise ImportFailed([str(e) for e in error.errors]) from error

    # Parse everything before writing anything, so one pass reports every problem.
    errors: list[str] = []
    graphs: list[DeploymentGraph] = []
    positions: dict[uuid.UUID, str] = {}
    for where, document in documents:
        try:
            graph = parse_deployment(document, project_key=project_key, where=where)
        except RepresentationError as error:
            errors.extend(str(e) for e in error.errors)
            continue
        deployment_id = graph.deployment.id
        if deployment_id in positions:
            errors.append(f"{where}.id: repeats the id of {positions[deployment_id]}")
            continue
        positions[deployment_id] = where
        graphs.append(graph)
    if errors:
        raise ImportFailed(errors)
    if not graphs:
        return ImportResult(deployments=0, created=0, updated=0)

    try:
        with transaction.atomic():
            _check_projects(positions, project_key)
            written = cache.cache_graphs(graphs)
    # SQLite raises OverflowError for integers beyond 64 bits, PostgreSQL DataError for
    # anything beyond its column; either way the transaction has been rolled back.
    except (DataError, OverflowError) as error:
        raise ImportFailed([f"the database rejected a value: {error}"]) from error
    return ImportResult(deployments=len(graphs), created=written.created, updated=written.updated)


def _check_projects(positions: dict[uuid.UUID, str], project_key: str) -> None:
    """Refuses to move deployments between projects: an import with a forgotten
    `--project` would otherwise silently take them from where they belong."""
    ids = list(positions)
    errors = []
    for start in range(0, len(ids), cache.BATCH_SIZE):
        elsewhere = (
            Deployment.objects.filter(id__in=ids[start : start + cache.BATCH_SIZE])
            .exclude(project_key=project_key)
            .values_list("id", "project_key")
        )
        errors.extend(
            f"{_id_path(positions[deployment_id])}: deployment {deployment_id} belongs to project "
            f"{other!r}, not {project_key!r}"
            for deployment_id, other in elsewhere
        )
    if errors:
        raise ImportFailed(sorted(errors))


def _id_path(where: str) -> str:
    return f"{where}.id" if where else "id"


# ---------------------------------------------------------------------------
# Export


def deployments_export(
    *,
    stream: TextIO,
    project_key: str | None = None,
    environment_key: str | None = None,
    application_keys: Sequence[str] = (),
    chunk_size: int = EXPORT_CHUNK_SIZE,
) -> ExportResult:
    """Writes matching deployments to `stream` as one `DeploymentCollectionRep`.

    Every item carries both expansions and its lead-time stages, newest `startedAt` first,
    then id descending. Deployments are read `chunk_size` at a time by keyset (a constant
    number of queries per chunk) and written one line per item as they come, so memory
    stays flat whatever the count. `totalCount` comes after `items`: it is the number of
    items actually written, which a count taken beforehand would not guarantee.

    Every write is a whole line ending in a newline (Django's `OutputWrapper` appends one
    to any write that lacks it). Failure modes: errors of `stream.write` propagate, leaving
    a partial document; the caller writes to a temporary file when that matters. Edits
    that change a deployment's `startedAt` while an export runs can move it across the
    cursor, so that it is missed or written twice (an import then names both positions).
    """
    queryset = Deployment.objects.all()
    if project_key is not None:
        queryset = queryset.filter(project_key=project_key)
    if environment_key is not None:
        queryset = queryset.filter(environment_key=environment_key)
    if application_keys:
        queryset = queryset.filter(application_key__in=list(application_keys))

    result = ExportResult()
    stream.write('{"items": [\n')
    # One item behind, so the last one is written without a trailing comma.
    pending: str | None = None
    for row, document in _in_chunks(queryset, chunk_size):
        if pending is not None:
            stream.write(pending + ",\n")
        pending = json.dumps(document, allow_nan=False)
        result.deployments += 1
        result.project_keys.add(row["project_key"])
    if pending is not None:
        stream.write(pending + "\n")
    stream.write(f'], "totalCount": {result.deployments}}}\n')
    return result


def _in_chunks(
    queryset: QuerySet[Deployment], chunk_size: int
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(row, fully expanded document) for the queryset's deployments, newest first,
    fetched by keyset a chunk at a time (an OFFSET would rescan every earlier row for
    each chunk), in a constant number of queries per chunk."""
    position = None
    while True:
        page = queryset if position is None else queryset.filter(older_than(position))
        page = page.order_by("-started_at", "-id")
        rows = list(page.values(*DEPLOYMENT_COLUMNS)[:chunk_size])
        documents = deployment_documents(rows, EXPANDABLE, ids=page.values("id")[:chunk_size])
        yield from zip(rows, documents, strict=True)
        if len(rows) < chunk_size:
            return
        position = (rows[-1]["started_at"], rows[-1]["id"])
