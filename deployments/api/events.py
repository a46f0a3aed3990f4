"""Deployment events. (Being written: placeholder so URLs import.)"""

from .base import LaunchDarklyAPIView


class DeploymentEventView(LaunchDarklyAPIView):
    pass
