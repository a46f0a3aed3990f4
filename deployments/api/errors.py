"""One exception handler: every API failure becomes a LaunchDarkly error body.

LaunchDarkly answers `{"code", "message"}`, and a 400 adds `errors: [{"attribute",
"reason"}]`. Domain errors carry their own code and status (`deployments.errors`);
DRF's and Django's are translated here, so no endpoint ever answers an HTML page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response

from ..errors import DeploymentError

logger = logging.getLogger(__name__)

# DRF exception → (status, LaunchDarkly code). Order matters: subclasses first.
DRF_CODES: list[tuple[type[Exception], int, str]] = [
    (exceptions.NotAuthenticated, 401, "unauthorized"),
    (exceptions.AuthenticationFailed, 401, "unauthorized"),
    (exceptions.PermissionDenied, 403, "forbidden"),
    (DjangoPermissionDenied, 403, "forbidden"),
    (exceptions.NotFound, 404, "not_found"),
    (Http404, 404, "not_found"),
    (exceptions.MethodNotAllowed, 405, "method_not_allowed"),
    (exceptions.NotAcceptable, 406, "not_acceptable"),
    (exceptions.UnsupportedMediaType, 415, "unsupported_media_type"),
    (exceptions.Throttled, 429, "rate_limited"),
    (exceptions.ParseError, 400, "invalid_request"),
    (exceptions.ValidationError, 400, "invalid_request"),
]

MESSAGES = {
    401: "Invalid access token",
    403: "Forbidden. Access to the requested resource was denied.",
    404: "Invalid resource identifier",
    429: "You've exceeded the API rate limit. Try again later.",
}


def error_body(status: int, code: str, message: str, errors: list | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if status == 400:
        body["errors"] = errors or []
    return body


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER for the API views."""
    if isinstance(exc, DeploymentError):
        return Response(exc.body(), status=exc.status, headers=getattr(exc, "headers", None))
    for exception_type, status, code in DRF_CODES:
        if isinstance(exc, exception_type):
            return _drf_response(exc, status, code)
    logger.exception("Unexpected error in %s", context.get("view").__class__.__name__)
    return Response(
        error_body(500, "internal_error", "The server failed to handle the request."),
        status=500,
    )


def _drf_response(exc: Exception, status: int, code: str) -> Response:
    detail = getattr(exc, "detail", None)
    message = MESSAGES.get(status) or (str(detail) if detail else code.replace("_", " "))
    if status in (401, 403) and detail and str(detail) not in ("", MESSAGES.get(status)):
        # Keep DRF's specific reason (a revoked token, a missing CSRF token) visible.
        message = str(detail)
    errors = _field_errors(detail) if status == 400 else None
    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        # DRF's own handler sends it; a 401 without it breaks HTTP (RFC 9110, 15.5.2).
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    return Response(error_body(status, code, message, errors), status=status, headers=headers)


def _field_errors(detail: Any, attribute: str = "body") -> list[dict]:
    """Flattens DRF's error detail into LaunchDarkly's `errors` entries."""
    if isinstance(detail, dict):
        return [e for key, value in detail.items() for e in _field_errors(value, str(key))]
    if isinstance(detail, list):
        return [e for item in detail for e in _field_errors(item, attribute)]
    return [{"attribute": attribute, "reason": str(detail)}]


def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/ answer JSON, not Django's HTML 404 page."""
    return JsonResponse(error_body(404, "not_found", MESSAGES[404]), status=404)


def _json_for_api(status: int, code: str, fallback):
    """A Django error handler answering LaunchDarkly JSON under /api/, HTML elsewhere."""

    def handler(request, exception=None, **kwargs):
        if request.path.startswith("/api/"):
            message = (
                MESSAGES.get(status)
                or {
                    400: "Bad request",
                    500: "The server failed to handle the request.",
                }[status]
            )
            return JsonResponse(error_body(status, code, message), status=status)
        return fallback(request, exception, **kwargs) if status != 500 else fallback(request)

    return handler


# Django's own error views (bad Host header, CSRF outside DRF, crashes in middleware) for
# the project's urls.py: handler400 = errors.bad_request, and so on.
bad_request = _json_for_api(400, "invalid_request", defaults.bad_request)
permission_denied = _json_for_api(403, "forbidden", defaults.permission_denied)
page_not_found = _json_for_api(404, "not_found", defaults.page_not_found)
server_error = _json_for_api(500, "internal_error", defaults.server_error)
