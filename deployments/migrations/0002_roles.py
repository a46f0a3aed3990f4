"""Creates the three roles as groups, with their permissions."""

from django.db import migrations

from ._permissions import grant

VIEW = [
    "deployments.view_deployment",
    "deployments.view_pullrequest",
    "deployments.view_deploymentpullrequest",
    "deployments.view_flagreference",
    "deployments.view_pullrequestflagreference",
    "deployments.view_deploymentevent",
]
# Release captains edit deployments through the service (finish, fail, archive, revert).
EDIT = ["deployments.change_deployment"]
# Admins run the portal: users and roles on top of everything else.
ADMINISTER = [
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.delete_user",
    "auth.view_group",
]

ROLE_PERMISSIONS = {
    "viewer": VIEW,
    "release-captain": VIEW + EDIT,
    "admin": VIEW + EDIT + ADMINISTER,
}


def create_roles(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
