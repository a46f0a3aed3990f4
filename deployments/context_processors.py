from django.conf import settings

from . import roles


def dashboard(request):
    """What the base layout shows on every page: mode, timezone and the user's role."""
    return {
        "dashboard_mode": "upstream" if settings.LAUNCHDARKLY_API_TOKEN else "local",
        "organisation_timezone": settings.TIME_ZONE,
        "user_role": roles.role_of(request.user) if hasattr(request, "user") else None,
    }
