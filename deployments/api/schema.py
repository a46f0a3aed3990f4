"""This server's own OpenAPI description, generated from the views."""

from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer


class OpenAPIView(SpectacularAPIView):
    # The description is public, as LaunchDarkly's is.
    permission_classes = [AllowAny]
    authentication_classes = []
    renderer_classes = [JSONRenderer]
