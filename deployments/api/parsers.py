"""Request bodies: strict JSON, bounded, with LaunchDarkly-shaped errors.

DRF's JSON parser answers 500 for a body nested 1,000 deep, keeps the last of repeated
keys, and lets an oversized body become an HTML 400; this one refuses each cleanly.
"""

from __future__ import annotations

from rest_framework.parsers import BaseParser

from ..errors import DeploymentError, InvalidRequest
from ..strictjson import JSONRejected, strict_loads

# No deployment edit or event comes near this; anything larger is a mistake or an attack.
MAX_BODY_BYTES = 1024 * 1024


class RequestTooLarge(DeploymentError):
    code = "request_too_large"
    status = 413


class StrictJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        content = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(content) > MAX_BODY_BYTES:
            raise RequestTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes")
        try:
            return strict_loads(content)
        except JSONRejected as error:
            raise InvalidRequest(
                "The request body is not valid JSON",
                errors=[{"attribute": "body", "reason": str(error)}],
            ) from error


class JSONPatchParser(StrictJSONParser):
    """RFC 6902's own media type, which some clients send for PATCH."""

    media_type = "application/json-patch+json"
