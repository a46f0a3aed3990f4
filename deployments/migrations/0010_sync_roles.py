"""Admins manage sync scopes and see sync runs."""

from django.db import migrations

from ._permissions import grant


def grant_sync(apps, schema_editor):
    grant(
        apps,
        {
            "admin": [
                "deployments.view_syncscope",
                "deployments.add_syncscope",
                "deployments.change_syncscope",
                "deployments.view_syncrun",
            ]
        },
    )


class Migration(migrations.Migration):
    dependencies = [("deployments", "0009_sync_scopes")]

    operations = [migrations.RunPython(grant_sync, migrations.RunPython.noop)]
