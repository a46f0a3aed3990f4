from functools import cache

from django.conf import settings

from . import roles
from .models import SyncRun
from .paths import layout_paths


def dashboard(request):
    """What the base layout shows on every page: its links, the mode (with, upstream,
    when the last sync finished), timezone and the user's role."""
    upstream = bool(settings.LAUNCHDARKLY_API_TOKEN)
    return {
        "nav": layout_paths(),
        "dashboard_mode": "upstream" if upstream else "local",
        # Called by the template when it shows the mode; one query, and only upstream.
        "last_synced_at": cache(SyncRun.last_success) if upstream else None,
        "organisation_timezone": settings.TIME_ZONE,
        "user_role": roles.role_of(request.user) if hasattr(request, "user") else None,
    }
