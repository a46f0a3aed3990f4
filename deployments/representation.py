"""The one mapping between cache rows and LaunchDarkly's deployment JSON.

LaunchDarkly speaks camelCase with times as epoch-millisecond integers; the cache speaks
snake_case with UTC datetimes. Each LaunchDarkly object is described once, as a tuple of
`Field`s, and both directions (`*_rep` to export, `parse_*` to import) read that table.
The API, import, export, sync and the edit pipeline all go through here.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import patching
from .models import (
    Deployment,
    DeploymentPullRequest,
    FlagReference,
    PullRequest,
    PullRequestFlagReference,
)
from .unsaved import unsaved

EXPANDABLE = ("pullRequests", "flagReferences")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MILLISECOND = timedelta(milliseconds=1)
MAX_MILLIS = patching.MAX_MILLIS  # epoch milliseconds beyond year 9999 fit no datetime


def to_millis(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_MILLISECOND


def from_millis(millis: int) -> datetime:
    return EPOCH + timedelta(milliseconds=millis)


# Kinds of JSON value a field holds.
STRING = "string"
UUID = "uuid"
INT32 = "int32"  # LaunchDarkly's plain "integer" (its generated clients use 32 bits)
INT64 = "int64"
BOOLEAN = "boolean"
MILLIS = "millis"
OBJECT = "object"

INTEGER_RANGES = {INT32: (-(2**31), 2**31 - 1), INT64: (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class Field:
    key: str  # LaunchDarkly's name
    attribute: str  # the model attribute
    kind: str
    required: bool = True


DEPLOYMENT_FIELDS = (
    Field("id", "id", UUID),
    Field("applicationKey", "application_key", STRING),
    Field("applicationVersion", "application_version", STRING),
    Field("startedAt", "started_at", MILLIS),
    Field("status", "status", STRING),
    Field("kind", "kind", STRING),
    Field("active", "active", BOOLEAN),
    Field("archived", "archived", BOOLEAN),
    Field("environmentKey", "environment_key", STRING),
    Field("numberOfContributors", "number_of_contributors", INT32),
    Field("numberOfPullRequests", "number_of_pull_requests", INT32),
    Field("linesAdded", "lines_added", INT64),
    Field("linesDeleted", "lines_deleted", INT64),
    Field("leadTime", "lead_time_ms", INT64),
    Field("endedAt", "ended_at", MILLIS, required=False),
    Field("durationMs", "duration_ms", INT64, required=False),
    Field("metadata", "metadata", OBJECT, required=False),
)

LEAD_TIME_STAGES_FIELDS = (
    Field("codingDurationMs", "coding_duration_ms", INT64),
    Field("reviewDurationMs", "review_duration_ms", INT64, required=False),
    Field("waitDurationMs", "wait_duration_ms", INT64, required=False),
    Field("deployDurationMs", "deploy_duration_ms", INT64, required=False),
    Field("totalLeadTimeMs", "total_lead_time_ms", INT64, required=False),
)

PULL_REQUEST_FIELDS = (
    Field("id", "id", UUID),
    Field("externalId", "external_id", STRING),
    Field("title", "title", STRING),
    Field("status", "status", STRING),
    Field("author", "author", STRING),
    Field("createTime", "create_time", MILLIS),
    Field("baseCommitKey", "base_commit_key", STRING),
    Field("headCommitKey", "head_commit_key", STRING),
    Field("filesChanged", "files_changed", INT32),
    Field("linesAdded", "lines_added", INT32),
    Field("linesDeleted", "lines_deleted", INT32),
    Field("url", "url", STRING),
    Field("mergeTime", "merge_time", MILLIS, required=False),
    Field("mergeCommitKey", "merge_commit_key", STRING, required=False),
)

PULL_REQUEST_LEAD_TIME_FIELDS = (
    Field("codingDurationMs", "coding_duration_ms", INT64),
    Field("reviewDurationMs", "review_duration_ms", INT64, required=False),
    Field("maxWaitDurationMs", "max_wait_duration_ms", INT64, required=False),
    Field("avgWaitDurationMs", "avg_wait_duration_ms", INT64, required=False),
    Field("maxDeployDurationMs", "max_deploy_duration_ms", INT64, required=False),
    Field("avgDeployDurationMs", "avg_deploy_duration_ms", INT64, required=False),
    Field("maxTotalLeadTimeMs", "max_total_lead_time_ms", INT64, required=False),
    Field("avgTotalLeadTimeMs", "avg_total_lead_time_ms", INT64, required=False),
)

FLAG_REFERENCE_FIELDS = (
    Field("projectKey", "project_key", STRING),
    Field("flagKey", "flag_key", STRING),
    Field("referencesAdded", "references_added", INT32),
    Field("referencesRemoved", "references_removed", INT32),
)


# ---------------------------------------------------------------------------
# Rows → LaunchDarkly JSON
#
# The builders take plain mappings of model attribute names to values: `.values()` rows
# on the read paths (no model instances: a full API page is ~600 rows, and building
# instances for them cost more than the query), or `vars(instance)` for one instance.


def _export_value(kind: str, value: Any) -> Any:
    if kind == UUID:
        return str(value)
    if kind == MILLIS:
        return to_millis(value)
    return value


def _export_fields(values: Mapping[str, Any], fields: Iterable[Field]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for spec in fields:
        value = values[spec.attribute]
        if value is None and not spec.required:
            continue
        document[spec.key] = _export_value(spec.kind, value)
    return document


def _collection(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"totalCount": len(items), "items": items}


def flag_reference_document(values: Mapping[str, Any]) -> dict[str, Any]:
    """LaunchDarkly's `FlagReferenceRep` from a flag-reference row."""
    return _export_fields(values, FLAG_REFERENCE_FIELDS)


def pull_request_document(
    link: Mapping[str, Any],
    pull_request: Mapping[str, Any],
    flag_references: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """LaunchDarkly's `PullRequestRep` as the pull request shipped in one deployment:
    the link row carries its lead time there. The nested `deployments` collection is
    left out."""
    document = _export_fields(pull_request, PULL_REQUEST_FIELDS)
    references = [flag_reference_document(values) for values in flag_references]
    if references:
        document["flagReferences"] = _collection(references)
    if link["coding_duration_ms"] is not None:
        document["leadTime"] = _export_fields(link, PULL_REQUEST_LEAD_TIME_FIELDS)
    return document


def deployment_document(
    values: Mapping[str, Any],
    *,
    pull_requests: list[dict[str, Any]] | None = None,
    flag_references: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """LaunchDarkly's `DeploymentRep` from a deployment row and, when expanded, the
    documents of its pull requests and flag references (None: not expanded)."""
    document = _export_fields(values, DEPLOYMENT_FIELDS)
    if pull_requests is not None:
        document["pullRequests"] = _collection(pull_requests)
    if flag_references is not None:
        document["flagReferences"] = _collection(flag_references)
    # codingDurationMs is the one required member: without it there are no stages.
    if values["coding_duration_ms"] is not None:
        document["leadTimeStages"] = _export_fields(values, LEAD_TIME_STAGES_FIELDS)
    return document


def deployment_rep(deployment: Deployment, *, expand: Iterable[str] = ()) -> dict[str, Any]:
    """LaunchDarkly's `DeploymentRep` for one model instance.

    Expansions read the instance's relations (one query each unless prefetched); the
    read paths for many deployments use `queries.deployment_documents` instead.
    """
    expand = set(expand)
    pull_requests = flag_references = None
    if "pullRequests" in expand:
        pull_requests = [
            pull_request_document(
                vars(link),
                vars(link.pull_request),
                [vars(ref) for ref in link.pull_request.flag_references.all()],
            )
            for link in deployment.pull_request_links.select_related("pull_request")
        ]
    if "flagReferences" in expand:
        flag_references = [
            flag_reference_document(vars(ref)) for ref in deployment.flag_references.all()
        ]
    return deployment_document(
        vars(deployment), pull_requests=pull_requests, flag_references=flag_references
    )


# ---------------------------------------------------------------------------
# LaunchDarkly JSON → rows


@dataclass
class FieldError:
    attribute: str  # where, e.g. "items[3].pullRequests.items[0].createTime"
    reason: str

    def __str__(self) -> str:
        return f"{self.attribute}: {self.reason}"


class RepresentationError(ValueError):
    """A document that is not a valid LaunchDarkly deployment; names every bad field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


@dataclass
class DeploymentGraph:
    """One deployment and the rows that hang off it, unsaved, ready to be cached."""

    deployment: Deployment
    pull_requests: list[PullRequest] = field(default_factory=list)
    pull_request_links: list[DeploymentPullRequest] = field(default_factory=list)
    flag_references: list[FlagReference] = field(default_factory=list)
    pull_request_flag_references: list[PullRequestFlagReference] = field(default_factory=list)
    # Whether the document carried each expandable collection; a collection that was
    # not expanded must not wipe the cached rows.
    has_pull_requests: bool = False
    has_flag_references: bool = False


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _string(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, "must be a string"
    return value, patching.string_reason(value)


def _uuid(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, "must be a UUID string"
    try:
        return uuid.UUID(value), None
    except ValueError:
        return None, "must be a UUID"


def _integer(low: int, high: int) -> Callable[[Any], tuple[Any, str | None]]:
    def convert(value: Any) -> tuple[Any, str | None]:
        # bool is an int in Python, never in JSON.
        if not isinstance(value, int) or isinstance(value, bool):
            return None, "must be an integer"
        if not low <= value <= high:
            return None, f"must be between {low} and {high}"
        return value, None

    return convert


def _boolean(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, bool):
        return None, "must be true or false"
    return value, None


def _millis(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, int) or isinstance(value, bool):
        return None, "must be an integer of epoch milliseconds"
    if not 0 <= value <= MAX_MILLIS:
        return None, "must be epoch milliseconds between 1970 and 9999"
    return from_millis(value), None


def _object(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, dict):
        return None, "must be a JSON object"
    # The same bounds as an edit: what the cache holds, a patch can write back.
    return value, patching.value_reason(value, max_bytes=patching.MAX_METADATA_BYTES)


# How each kind of JSON value is converted: (converted, reason-it-is-wrong).
CONVERTERS: dict[str, Callable[[Any], tuple[Any, str | None]]] = {
    STRING: _string,
    UUID: _uuid,
    INT32: _integer(*INTEGER_RANGES[INT32]),
    INT64: _integer(*INTEGER_RANGES[INT64]),
    BOOLEAN: _boolean,
    MILLIS: _millis,
    OBJECT: _object,
}


def _bounded(convert: Callable, limit: int) -> Callable[[Any], tuple[Any, str | None]]:
    def bounded(value: Any) -> tuple[Any, str | None]:
        value, reason = convert(value)
        if reason is None and len(value) > limit:
            return None, f"must be at most {limit} characters"
        return value, reason

    return bounded


@functools.cache
def _compiled(
    fields: tuple[Field, ...], model: type
) -> tuple[tuple[str, str, bool, Callable[[Any], tuple[Any, str | None]]], ...]:
    """Each field as (key, attribute, required, converter), string lengths bounded by
    the model's columns: parsing runs for every field of every synced document, and a
    lookup of the kind per value cost a fifth of it."""
    compiled = []
    for spec in fields:
        convert = CONVERTERS[spec.kind]
        if spec.kind == STRING:
            limit = model._meta.get_field(spec.attribute).max_length
            if limit is not None:
                convert = _bounded(convert, limit)
        compiled.append((spec.key, spec.attribute, spec.required, convert))
    return tuple(compiled)


def _parse_fields(
    data: Any, fields: tuple[Field, ...], where: str, errors: list[FieldError], *, model: type
) -> dict[str, Any]:
    """`model`'s keyword arguments from `data`; appends one error per bad field."""
    if not isinstance(data, Mapping):
        errors.append(FieldError(where or "(document)", "must be a JSON object"))
        return {}
    values: dict[str, Any] = {}
    # The error path names the field; the common path does as little as it can.
    for key, attribute, required, convert in _compiled(fields, model):
        raw = data.get(key)
        if raw is None:
            if required:
                errors.append(FieldError(_join(where, key), "is required"))
            continue
        value, reason = convert(raw)
        if reason:
            errors.append(FieldError(_join(where, key), reason))
        else:
            values[attribute] = value
    return values


def _collection_items(data: Any, where: str, errors: list[FieldError]) -> list[Any]:
    if not isinstance(data, Mapping):
        errors.append(FieldError(where, "must be an object with totalCount and items"))
        return []
    items = data.get("items")
    if not isinstance(items, list):
        errors.append(FieldError(_join(where, "items"), "must be a list"))
        return []
    return items


def _parse_flag_references(
    data: Any, model: type, owner: dict[str, Any], where: str, errors: list[FieldError]
) -> list[Any]:
    references = []
    seen: set[tuple[str, str]] = set()
    for position, item in enumerate(_collection_items(data, where, errors)):
        item_where = f"{where}.items[{position}]"
        values = _parse_fields(item, FLAG_REFERENCE_FIELDS, item_where, errors, model=model)
        identity = (values.get("project_key"), values.get("flag_key"))
        if identity in seen:
            errors.append(FieldError(item_where, "repeats an earlier flag reference"))
        seen.add(identity)
        references.append(unsaved(model, position=position, **owner, **values))
    return references


def _parse_pull_requests(
    data: Any, graph: DeploymentGraph, where: str, errors: list[FieldError]
) -> None:
    seen_ids: set[uuid.UUID] = set()
    for position, item in enumerate(_collection_items(data, where, errors)):
        item_where = f"{where}.items[{position}]"
        values = _parse_fields(item, PULL_REQUEST_FIELDS, item_where, errors, model=PullRequest)
        pull_request = unsaved(PullRequest, **values)
        if not isinstance(item, Mapping):
            continue
        if pull_request.id in seen_ids:
            errors.append(FieldError(_join(item_where, "id"), "repeats an earlier pull request"))
        seen_ids.add(pull_request.id)
        lead_time: dict[str, Any] = {}
        if item.get("leadTime") is not None:
            lead_time = _parse_fields(
                item["leadTime"],
                PULL_REQUEST_LEAD_TIME_FIELDS,
                _join(item_where, "leadTime"),
                errors,
                model=DeploymentPullRequest,
            )
        graph.pull_requests.append(pull_request)
        graph.pull_request_links.append(
            unsaved(
                DeploymentPullRequest,
                deployment_id=graph.deployment.id,
                pull_request_id=pull_request.id,
                position=position,
                **lead_time,
            )
        )
        if item.get("flagReferences") is not None:
            graph.pull_request_flag_references.extend(
                _parse_flag_references(
                    item["flagReferences"],
                    PullRequestFlagReference,
                    {"pull_request_id": pull_request.id},
                    _join(item_where, "flagReferences"),
                    errors,
                )
            )


def parse_deployment(data: Any, *, project_key: str, where: str = "") -> DeploymentGraph:
    """Rows for one `DeploymentRep`; raises RepresentationError naming every bad field.

    `project_key` is not part of LaunchDarkly's representation: the caller knows which
    project it asked for.
    """
    errors: list[FieldError] = []
    values = _parse_fields(data, DEPLOYMENT_FIELDS, where, errors, model=Deployment)
    if errors and not values:
        raise RepresentationError(errors)

    stages = data.get("leadTimeStages")
    if stages is not None:
        values.update(
            _parse_fields(
                stages,
                LEAD_TIME_STAGES_FIELDS,
                _join(where, "leadTimeStages"),
                errors,
                model=Deployment,
            )
        )
    started_at, ended_at = values.get("started_at"), values.get("ended_at")
    if started_at and ended_at and ended_at < started_at:
        errors.append(FieldError(_join(where, "endedAt"), "must not be before startedAt"))
    deployment = unsaved(Deployment, project_key=project_key, **values)
    graph = DeploymentGraph(deployment=deployment)

    if data.get("pullRequests") is not None:
        graph.has_pull_requests = True
        _parse_pull_requests(data["pullRequests"], graph, _join(where, "pullRequests"), errors)

    if data.get("flagReferences") is not None:
        graph.has_flag_references = True
        graph.flag_references = _parse_flag_references(
            data["flagReferences"],
            FlagReference,
            {"deployment_id": deployment.id},
            _join(where, "flagReferences"),
            errors,
        )

    if errors:
        raise RepresentationError(errors)
    return graph


def documents_in_file(data: Any) -> list[tuple[str, Any]]:
    """The deployments in an import file, each with where it sits in the file.

    Accepts a `DeploymentCollectionRep`, a list of them, a list of `DeploymentRep`s, or
    one `DeploymentRep`.
    """
    if isinstance(data, Mapping) and "items" in data:
        items = data["items"]
        if not isinstance(items, list):
            raise RepresentationError([FieldError("items", "must be a list")])
        return [(f"items[{index}]", item) for index, item in enumerate(items)]
    if isinstance(data, Mapping):
        return [("", data)]
    if isinstance(data, list):
        documents: list[tuple[str, Any]] = []
        for index, entry in enumerate(data):
            if isinstance(entry, Mapping) and "items" in entry:
                try:
                    inner = documents_in_file(entry)
                except RepresentationError as error:
                    # Name the collection in the list, not just "items".
                    raise RepresentationError(
                        [FieldError(f"[{index}].{e.attribute}", e.reason) for e in error.errors]
                    ) from error
                documents.extend((f"[{index}].{where}", item) for where, item in inner)
            else:
                documents.append((f"[{index}]", entry))
        return documents
    raise RepresentationError(
        [FieldError("(document)", "must be a deployment collection, a list, or a deployment")]
    )
