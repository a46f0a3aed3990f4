"""Startup checks: a bad setting is reported by `manage.py check` and at boot, not on
the first request that happens to read it."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.compatibility)
def rate_limit_setting(app_configs, **kwargs):
    from .api.throttling import configured_rate

    try:
        configured_rate()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), id="deployments.E001")]
    return []
