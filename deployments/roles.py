"""The three roles of the product, as Django groups.

The groups are created by a data migration (`0002_roles`); this module names them so
code and tests never spell a group name by hand.
"""

VIEWER = "viewer"
RELEASE_CAPTAIN = "release-captain"
ADMIN = "admin"

ROLES = (VIEWER, RELEASE_CAPTAIN, ADMIN)

# Where a user read by `auth_backend` keeps the group names that came with it.
GROUP_NAMES_ATTRIBUTE = "_group_names"


def remember_group_names(user, names: set[str]) -> None:
    """Records the user's group names as read with the user, sparing `role_of` a query."""
    setattr(user, GROUP_NAMES_ATTRIBUTE, frozenset(names))


def role_of(user) -> str | None:
    """The highest role a user holds, for display; superusers count as admins."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = getattr(user, GROUP_NAMES_ATTRIBUTE, None)
    if names is None:
        names = {group.name for group in user.groups.all()}
    for role in reversed(ROLES):
        if role in names:
            return role
    return None
