"""Everyone sees the change history; release captains and admins may revert."""

from django.db import migrations

from ._permissions import grant


def grant_change_log(apps, schema_editor):
    grant(
        apps,
        {
            "viewer": ["deployments.view_change"],
            "release-captain": ["deployments.view_change", "deployments.revert_change"],
            "admin": ["deployments.view_change", "deployments.revert_change"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("deployments", "0003_change_log")]

    operations = [migrations.RunPython(grant_change_log, migrations.RunPython.noop)]
