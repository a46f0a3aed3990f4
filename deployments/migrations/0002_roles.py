"""Creates the three roles as groups, with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

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
    # Permissions are normally made after the last migration; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("deployments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
