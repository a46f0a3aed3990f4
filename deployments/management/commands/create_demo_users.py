"""`manage.py create_demo_users [--force]`: one sign-in per role, for demos only."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse

from deployments import roles


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    # Staff may enter /admin/; the admin group's permissions say what they may do there.
    is_staff: bool


DEMO_USERS = (
    DemoUser("viewer", "viewer-demo", roles.VIEWER, is_staff=False),
    DemoUser("captain", "captain-demo", roles.RELEASE_CAPTAIN, is_staff=False),
    DemoUser("admin", "admin-demo", roles.ADMIN, is_staff=True),
)


def demo_users_reset() -> int:
    """Creates the demo users, or puts existing ones back: password, one role group,
    staff flag, active, never superuser. Returns how many were created.

    Raises CommandError when a role group is missing (migrations not applied).
    """
    groups = {group.name: group for group in Group.objects.filter(name__in=roles.ROLES)}
    missing = [role for role in roles.ROLES if role not in groups]
    if missing:
        raise CommandError(f"role groups missing ({', '.join(missing)}): run migrate first")
    User = get_user_model()
    created = 0
    with transaction.atomic():
        for demo in DEMO_USERS:
            user, was_created = User.objects.get_or_create(username=demo.username)
            created += was_created
            # set_password skips the password validators on purpose: these are demo logins.
            user.set_password(demo.password)
            user.is_active = True
            user.is_staff = demo.is_staff
            user.is_superuser = False
            user.save()
            user.groups.set([groups[demo.role]])
    return created


class Command(BaseCommand):
    help = (
        "Creates or resets the demo users viewer, captain and admin, one per role, with "
        "well-known passwords. Refuses to run with DEBUG off unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even with DEBUG off (a throwaway demo server only: anyone can sign in)",
        )

    def handle(self, *args: Any, force: bool, **options: Any) -> None:
        # Well-known passwords on a production server would let anyone in.
        if not settings.DEBUG and not force:
            raise CommandError(
                "refusing to create demo users with well-known passwords while DEBUG is off; "
                "pass --force only on a throwaway demo server"
            )
        created = demo_users_reset()
        reset = len(DEMO_USERS) - created
        self.stdout.write(
            f"Demo users: {created} created, {reset} reset. Sign in at {reverse('login')}"
        )
        rows = [("username", "password", "role")]
        rows += [(demo.username, demo.password, demo.role) for demo in DEMO_USERS]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        for row in rows:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write(("  " + "  ".join(cells)).rstrip())
