"""The base of every API view: authentication, parsing, errors, rendering, in one place.

Set per view rather than in REST_FRAMEWORK so that a portal which adds this app keeps
its own DRF defaults for its own APIs.
"""

from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from .authentication import LaunchDarklyTokenAuthentication
from .errors import api_exception_handler
from .parsers import JSONPatchParser, StrictJSONParser
from .permissions import DeploymentAccess
from .throttling import TokenRateThrottle


class LaunchDarklyAPIView(APIView):
    authentication_classes = [LaunchDarklyTokenAuthentication, SessionAuthentication]
    permission_classes = [DeploymentAccess]
    parser_classes = [StrictJSONParser, JSONPatchParser]
    renderer_classes = [JSONRenderer]
    throttle_classes = [TokenRateThrottle]

    def get_exception_handler(self):
        return api_exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in getattr(request, "ratelimit_headers", {}).items():
            response[name] = value
        return response
