"""List, get and patch deployments. (Being written: placeholder so URLs import.)"""

from .base import LaunchDarklyAPIView


class DeploymentListView(LaunchDarklyAPIView):
    pass


class DeploymentDetailView(LaunchDarklyAPIView):
    pass
