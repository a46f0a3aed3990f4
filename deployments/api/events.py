"""POST /api/v2/engineering-insights/deployment-events: a pipeline reports an event.

Thin on purpose: the body must be a JSON object, the service (`deployments.events`)
validates and records it, and the answer is LaunchDarkly's `201 Created` with no body.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ..errors import InvalidRequest
from ..events import APPLICATION_KINDS, EVENT_TYPES, VERSION_PATTERN, deployment_event_record
from ..representation import MAX_MILLIS
from .base import LaunchDarklyAPIView
from .parsers import StrictJSONParser


class PostDeploymentEventInputSerializer(serializers.Serializer):
    """LaunchDarkly's `PostDeploymentEventInput`, for the OpenAPI description only.

    Bodies are validated by the service, which reports every problem at once in
    LaunchDarkly's shape; tests compare this description with LaunchDarkly's spec.
    """

    projectKey = serializers.CharField(max_length=256, help_text="The project key")
    environmentKey = serializers.CharField(max_length=256, help_text="The environment key")
    applicationKey = serializers.CharField(max_length=256, help_text="The application key")
    applicationName = serializers.CharField(
        max_length=256, required=False, allow_blank=True, help_text="The application name"
    )
    applicationKind = serializers.ChoiceField(
        choices=APPLICATION_KINDS,
        required=False,
        help_text="The kind of application. Default: server",
    )
    version = serializers.RegexField(
        rf"^{VERSION_PATTERN.pattern}$",
        max_length=256,
        help_text="The application version: letters, digits, '.', '-' and '_' only",
    )
    versionName = serializers.CharField(
        max_length=256, required=False, allow_blank=True, help_text="The version name"
    )
    eventType = serializers.ChoiceField(choices=EVENT_TYPES, help_text="The event type")
    eventTime = serializers.IntegerField(
        min_value=0,
        max_value=MAX_MILLIS,
        required=False,
        help_text="When the event occurred, in Unix milliseconds; default: when received",
    )
    eventMetadata = serializers.DictField(
        required=False, help_text="A JSON object containing metadata about the event"
    )
    deploymentMetadata = serializers.DictField(
        required=False,
        help_text="A JSON object merged into the deployment's metadata",
    )


_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
_VALIDATION_ERROR = {
    "type": "object",
    "required": ["code", "message", "errors"],
    "properties": {
        **_ERROR["properties"],
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"attribute": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}


class DeploymentEventView(LaunchDarklyAPIView):
    # An event is plain JSON; the base's JSON Patch media type means nothing here.
    parser_classes = [StrictJSONParser]

    @extend_schema(
        operation_id="createDeploymentEvent",
        summary="Create deployment event",
        description=(
            "Records a deployment event from a pipeline: `started` opens a deployment, "
            "`finished` and `failed` close it (or create a closed one), `custom` adds to "
            "its timeline. The same event sent twice creates nothing new. Fields that "
            "PostDeploymentEventInput does not define are refused."
        ),
        tags=["Insights deployments (beta)"],
        request=PostDeploymentEventInputSerializer,
        responses={
            201: OpenApiResponse(description="Created"),
            400: OpenApiResponse(_VALIDATION_ERROR, description="Invalid request"),
            401: OpenApiResponse(_ERROR, description="Invalid access token"),
            403: OpenApiResponse(_ERROR, description="Forbidden"),
            404: OpenApiResponse(_ERROR, description="Invalid resource identifier"),
            429: OpenApiResponse(_ERROR, description="Rate limited"),
        },
    )
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise InvalidRequest(
                "The request body must be a JSON object (a PostDeploymentEventInput)",
                errors=[{"attribute": "body", "reason": "must be a JSON object"}],
            )
        deployment_event_record(event=request.data, actor=request.user)
        # LaunchDarkly answers 201 with no body, so clients expect none.
        return Response(status=201)
