"""LaunchDarkly's paths, exactly: clients build them from a base URL and nothing else."""

from django.urls import path, re_path

from .deployments import DeploymentDetailView, DeploymentListView
from .errors import api_not_found
from .events import DeploymentEventView
from .schema import OpenAPIView

PREFIX = "api/v2/engineering-insights"

urlpatterns = [
    path(f"{PREFIX}/deployments", DeploymentListView.as_view(), name="api-deployment-list"),
    path(
        f"{PREFIX}/deployments/<str:deploymentID>",
        DeploymentDetailView.as_view(),
        name="api-deployment-detail",
    ),
    path(
        f"{PREFIX}/deployment-events", DeploymentEventView.as_view(), name="api-deployment-events"
    ),
    path("api/v2/openapi.json", OpenAPIView.as_view(), name="api-openapi"),
    # Anything else under /api/ answers a JSON 404, never Django's HTML page.
    re_path(r"^api/", api_not_found),
]
