"""Shared by the role migrations (Django's loader skips modules starting with "_")."""

from django.contrib.auth.management import create_permissions


def grant(apps, role_permissions: dict[str, list[str]]) -> None:
    """Adds "app_label.codename" permissions to each role's group, creating the group."""
    # Permissions are normally made after the last migration; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in role_permissions.items():
        group, _ = Group.objects.get_or_create(name=role)
        for name in names:
            app_label, codename = name.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
