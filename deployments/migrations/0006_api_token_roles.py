"""Admins manage API tokens; nobody else sees them."""

from django.db import migrations

from ._permissions import grant


def grant_tokens(apps, schema_editor):
    grant(
        apps,
        {
            "admin": [
                "deployments.view_apitoken",
                "deployments.add_apitoken",
                "deployments.change_apitoken",
            ]
        },
    )


class Migration(migrations.Migration):
    dependencies = [("deployments", "0005_api_tokens_and_event_details")]

    operations = [migrations.RunPython(grant_tokens, migrations.RunPython.noop)]
