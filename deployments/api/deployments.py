"""List, get and patch deployments, at LaunchDarkly's paths and in its shapes.

Each view checks its input (`params`), calls one query or service, and picks the
response. Bodies are plain dictionaries from `representation.deployment_rep`, rendered
as JSON: nested DRF serializers cost about three times as much on a full list page.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse, QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from .. import representation
from ..models import Change
from ..queries import (
    DeploymentPage,
    deployment_document_by_id,
    deployment_documents,
    deployment_page,
)
from ..services import deployment_update
from .base import LaunchDarklyAPIView
from .params import (
    DEFAULT_LIMIT,
    MAX_COMMENT_LENGTH,
    MAX_LIMIT,
    expand_params,
    list_params,
    patch_body,
)

CURSORS = ("after", "before")

# ---------------------------------------------------------------------------
# The OpenAPI description (drf-spectacular). Compact: the deployment's properties come
# from the one table of fields in `representation`.

JSON_TYPES = {
    representation.STRING: {"type": "string"},
    representation.UUID: {"type": "string", "format": "uuid"},
    representation.INT32: {"type": "integer"},
    representation.INT64: {"type": "integer", "format": "int64"},
    representation.MILLIS: {"type": "integer", "format": "int64", "description": "Epoch ms"},
    representation.BOOLEAN: {"type": "boolean"},
    representation.OBJECT: {"type": "object", "additionalProperties": {}},
}
COLLECTION = {"type": "object", "properties": {"totalCount": {"type": "integer"}, "items": {}}}
DEPLOYMENT_SCHEMA = {
    "type": "object",
    "description": "LaunchDarkly's DeploymentRep",
    "required": [spec.key for spec in representation.DEPLOYMENT_FIELDS if spec.required],
    "properties": {
        **{spec.key: JSON_TYPES[spec.kind] for spec in representation.DEPLOYMENT_FIELDS},
        "pullRequests": {**COLLECTION, "description": "With expand=pullRequests"},
        "flagReferences": {**COLLECTION, "description": "With expand=flagReferences"},
        "leadTimeStages": {"type": "object"},
    },
}
LINK = {"type": "object", "properties": {"href": {"type": "string"}, "type": {"type": "string"}}}
COLLECTION_SCHEMA = {
    "type": "object",
    "description": "LaunchDarkly's DeploymentCollectionRep",
    "required": ["totalCount", "items"],
    "properties": {
        "totalCount": {"type": "integer", "description": "Every match, not only this page"},
        "items": {"type": "array", "items": DEPLOYMENT_SCHEMA},
        "_links": {"type": "object", "additionalProperties": LINK},
    },
}
PROBLEM = {"type": "object", "properties": {"attribute": {}, "reason": {}}}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "errors": {"type": "array", "items": PROBLEM, "description": "With 400 only"},
    },
}
OPERATION = {
    "type": "object",
    "required": ["op", "path"],
    "properties": {
        "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
        "path": {"type": "string"},
        "from": {"type": "string"},
        "value": {},
    },
}
PATCH = {"type": "array", "items": OPERATION}
PATCH_SCHEMA = {
    "description": "A JSON Patch (RFC 6902), or {comment, patch} to record why",
    "oneOf": [
        PATCH,
        {
            "type": "object",
            "required": ["patch"],
            "properties": {
                "comment": {"type": "string", "maxLength": MAX_COMMENT_LENGTH},
                "patch": PATCH,
            },
        },
    ],
}
ERRORS = {
    400: "Invalid request: one entry in `errors` per problem",
    401: "Invalid access token",
    403: "Forbidden",
    404: "Unknown deployment",
    409: "A `test` operation failed: the deployment changed since",
    422: "The patch cannot be applied to this deployment",
    429: "Rate limited",
}
TAGS = ["Insights deployments (beta)"]


def _query(name: str, kind: Any, description: str, required: bool = False) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required, description=description)


def _responses(description: str, schema: dict, errors: tuple[int, ...]) -> dict:
    return {
        200: OpenApiResponse(schema, description),
        **{status: OpenApiResponse(ERROR_SCHEMA, ERRORS[status]) for status in errors},
    }


DEPLOYMENT_ID = OpenApiParameter(
    "deploymentID", str, OpenApiParameter.PATH, description="The deployment ID (a UUID)"
)
EXPAND = _query("expand", str, "Comma-separated: `pullRequests`, `flagReferences`")
LIST_PARAMETERS = [
    _query("projectKey", str, "The project key", True),
    _query("environmentKey", str, "The environment key", True),
    _query("applicationKey", str, "Comma-separated application keys"),
    _query("limit", OpenApiTypes.INT64, f"1 to {MAX_LIMIT}; default {DEFAULT_LIMIT}"),
    EXPAND,
    _query("from", OpenApiTypes.INT64, "Earliest startedAt, epoch ms, inclusive; default to − 7 d"),
    _query("to", OpenApiTypes.INT64, "Latest startedAt, epoch ms, inclusive; default now"),
    _query("after", str, "Cursor: the deployments that follow this deployment id"),
    _query("before", str, "Cursor: the deployments just before this deployment id"),
    _query("kind", str, "The deployment kind; a comma-separated list matches any"),
    _query("status", str, "The deployment status; a comma-separated list matches any"),
]


# ---------------------------------------------------------------------------
# Views


class DeploymentListView(LaunchDarklyAPIView):
    @extend_schema(
        operation_id="getDeployments",
        summary="List deployments",
        description="Newest first (startedAt, then id, descending), paged by cursors.",
        tags=TAGS,
        parameters=LIST_PARAMETERS,
        responses=_responses("Deployment collection", COLLECTION_SCHEMA, (400, 401, 403, 429)),
    )
    def get(self, request: Request) -> HttpResponse:
        params = list_params(request.query_params)
        page = deployment_page(
            params.where, limit=params.limit, after=params.after, before=params.before
        )
        items = deployment_documents(page.rows, params.expand, ids=page.ids)
        body = {"totalCount": page.total_count, "items": items, "_links": _links(request, page)}
        return json_response(body)


class DeploymentDetailView(LaunchDarklyAPIView):
    @extend_schema(
        operation_id="getDeployment",
        summary="Get deployment",
        tags=TAGS,
        parameters=[DEPLOYMENT_ID, EXPAND],
        responses=_responses("Deployment", DEPLOYMENT_SCHEMA, (400, 401, 403, 404, 429)),
    )
    # The URL names its parameter as LaunchDarkly's spec does: `deploymentID`.
    def get(self, request: Request, deploymentID: str) -> HttpResponse:  # noqa: N803
        expand = expand_params(request.query_params)
        return json_response(deployment_document_by_id(deploymentID, expand=expand))

    @extend_schema(
        operation_id="updateDeployment",
        summary="Update deployment",
        tags=TAGS,
        parameters=[DEPLOYMENT_ID],
        request={"application/json": PATCH_SCHEMA, "application/json-patch+json": PATCH_SCHEMA},
        responses=_responses(
            "The updated deployment", DEPLOYMENT_SCHEMA, (400, 401, 403, 404, 409, 422, 429)
        ),
    )
    def patch(self, request: Request, deploymentID: str) -> HttpResponse:  # noqa: N803
        body = patch_body(request.data)
        change = deployment_update(
            deployment_id=deploymentID,
            patch=body.patch,
            actor=_actor(request.user),
            reason=body.comment,
            source=Change.Source.API,
        )
        # The applied change holds the deployment as saved: no second read needed.
        return json_response(change.after)


def json_response(body: dict[str, Any]) -> HttpResponse:
    """The body rendered now, as DRF's JSONRenderer would (compact, UTF-8, no NaN).

    Plain `json.dumps`, as STYLE.md measured. Not a DRF `Response`: that keeps `data`
    in a reference cycle (view, response, renderer context), and a full page is a few
    thousand dictionaries left for the cyclic garbage collector; here they are freed as
    the view returns.
    """
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return HttpResponse(content.encode(), content_type="application/json")


def _actor(user: Any) -> AbstractBaseUser | str:
    """Who the change log names: the user, or a service token's principal by name."""
    return user if isinstance(user, AbstractBaseUser) else user.get_username()


# ---------------------------------------------------------------------------
# Links


def _links(request: Request, page: DeploymentPage) -> dict[str, dict[str, str]]:
    """`self`, and `next` / `prev` when rows lie beyond the page on that side.

    Each link keeps every other parameter of the request. An empty page (a hand-made
    cursor, or rows deleted since the link was made) has no row to anchor a cursor on,
    so it links to itself only.
    """
    links = {"self": _link(request, None)}
    if page.rows and page.has_next:
        links["next"] = _link(request, ("after", str(page.rows[-1]["id"])))
    if page.rows and page.has_prev:
        links["prev"] = _link(request, ("before", str(page.rows[0]["id"])))
    return links


def _link(request: Request, cursor: tuple[str, str] | None) -> dict[str, str]:
    query = QueryDict(mutable=True)
    if cursor is not None:
        query[cursor[0]] = cursor[1]
    for name, values in request.query_params.lists():
        if cursor is None or name not in CURSORS:
            query.setlist(name, values)
    # Commas stay readable: they separate list items, and %2C would mean the same.
    href = f"{request.path}?{query.urlencode(safe=',')}" if query else request.path
    return {"href": href, "type": "application/json"}
