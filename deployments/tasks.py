"""Background work, run by the tasks framework's worker (`manage.py db_worker`)."""

try:  # Django 6 has the tasks framework built in; 5.2 has the backport.
    from django.tasks import task
except ImportError:  # pragma: no cover - depends on the Django version installed
    from django_tasks import task

from . import upstream
from .models import SyncScope
from .sync import sync_scope_run


@task()
def sync_scope_task(scope_id: int) -> dict:
    """One sync run of one scope, as `manage.py sync_deployments --scope` would do it."""
    scope = SyncScope.objects.get(pk=scope_id)
    client = upstream.client_from_settings()
    try:
        run = sync_scope_run(scope=scope, client=client)
    finally:
        client.close()
    return {"run": run.pk, "status": run.status, "fetched": run.fetched}
