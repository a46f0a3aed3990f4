"""The three roles of the product, as Django groups.

The groups are created by a data migration (`0002_roles`); this module names them so
code and tests never spell a group name by hand.
"""

VIEWER = "viewer"
RELEASE_CAPTAIN = "release-captain"
ADMIN = "admin"

ROLES = (VIEWER, RELEASE_CAPTAIN, ADMIN)


def role_of(user) -> str | None:
    """The highest role a user holds, for display; superusers count as admins."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = {group.name for group in user.groups.all()}
    for role in reversed(ROLES):
        if role in names:
            return role
    return None
