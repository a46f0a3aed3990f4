"""Django's model backend, with the signed-in user and their groups in one statement.

Every signed-in page looks up its user, and the header shows the user's role, which
comes from their groups: two ORM queries, each costing about twice its statement to
build and run (0.52 and 0.59 ms, against 0.27 each, on PostgreSQL at 100,000
deployments; `docs/PERFORMANCE.md`). This reads both in one fixed statement and hands
the group names to `roles`. Signing in, permissions and the rest are ModelBackend's.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db import connection

from . import roles
from .queries import raw

# Django's ModelBackend reads the user model at import too: backends load after apps.
UserModel = get_user_model()
USER_COLUMNS = tuple(field.attname for field in UserModel._meta.concrete_fields)
GROUP_NAME = "group_name"
USER_SELECT = raw.Select.of((UserModel, USER_COLUMNS), (None, (GROUP_NAME,)))
# One row per group (one row, with no group name, for a user in no group).
USER_SQL = """
SELECT {columns}, g.{group_name}
FROM {users} u
LEFT JOIN {memberships} m ON m.{member} = u.{user_pk}
LEFT JOIN {groups} g ON g.{group_pk} = m.{group}
WHERE u.{user_pk} = %s
"""


class UserWithGroupsBackend(ModelBackend):
    def get_user(self, user_id):
        """The active user of this id, knowing their group names; or None."""
        pk = raw.parameter(UserModel, UserModel._meta.pk.attname, user_id)
        rows = raw.fetch(USER_SELECT, _user_sql(connection.vendor), [pk])
        if not rows:
            return None
        values = [rows[0][name] for name in USER_COLUMNS]
        user = UserModel.from_db(connection.alias, USER_COLUMNS, values)
        roles.remember_group_names(user, {row[GROUP_NAME] for row in rows if row[GROUP_NAME]})
        return user if self.user_can_authenticate(user) else None


@cache
def _user_sql(vendor: str) -> str:
    """USER_SQL with this database's quoted names (the vendor keys the cache)."""
    memberships = UserModel._meta.get_field("groups")
    quote = connection.ops.quote_name
    return USER_SQL.format(
        columns=raw.columns("u", UserModel, USER_COLUMNS),
        group_name=quote(raw.model_field(Group, "name").column),
        users=raw.table(UserModel),
        memberships=quote(memberships.m2m_db_table()),
        member=quote(memberships.m2m_column_name()),
        group=quote(memberships.m2m_reverse_name()),
        user_pk=quote(UserModel._meta.pk.column),
        groups=raw.table(Group),
        group_pk=quote(Group._meta.pk.column),
    )
