"""`manage.py create_api_token --name NAME (--user USERNAME | --service NAME) [--role
reader|writer] [--expires-in-days N]`: makes an API token and prints it, once."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from deployments import tokens
from deployments.errors import InvalidRequest
from deployments.models import ApiToken


class Command(BaseCommand):
    help = (
        "Makes an API token for a user or a service and prints it on stdout, alone, so "
        "that scripts can capture it. It is shown this once: only its digest is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="what the token is for")
        parser.add_argument("--user", metavar="USERNAME", help="the user who owns the token")
        parser.add_argument(
            "--service", metavar="NAME", help="the service that owns it, when no user does"
        )
        parser.add_argument(
            "--role",
            choices=ApiToken.Role.values,
            default=ApiToken.Role.READER,
            help="reader: GET only (the default); writer: also PATCH and deployment events",
        )
        parser.add_argument(
            "--expires-in-days",
            type=int,
            metavar="N",
            help="the token stops working after N days (default: never)",
        )

    def handle(
        self,
        *args: Any,
        name: str,
        user: str | None,
        service: str | None,
        role: str,
        expires_in_days: int | None,
        **options: Any,
    ) -> None:
        # Checked here rather than by an argparse group, so that call_command's keyword
        # arguments get the same clear messages as the command line.
        if user is not None and service is not None:
            raise CommandError("give --user or --service, not both: a token has one owner")
        if user is None and not (service or "").strip():
            raise CommandError("give --user USERNAME or --service NAME: every token has an owner")
        owner = None
        if user is not None:
            try:
                owner = get_user_model().objects.get_by_natural_key(user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"no user named {user!r}") from None
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError(
                    f"--expires-in-days must be a positive number of days, not {expires_in_days}"
                )
            try:
                expires_at = timezone.now() + timedelta(days=expires_in_days)
            except OverflowError:
                raise CommandError(f"--expires-in-days {expires_in_days} is too far") from None
        try:
            issued = tokens.api_token_create(
                name=name,
                role=role,
                user=owner,
                service_name=service or "",
                expires_at=expires_at,
            )
        except InvalidRequest as error:
            reasons = "; ".join(f"{e['attribute']}: {e['reason']}" for e in error.errors)
            raise CommandError(f"{error.message}: {reasons}") from None
        token = issued.token
        expiry = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "no expiry"
        # The note goes to stderr so that `TOKEN=$(manage.py create_api_token ...)` gets
        # the token alone.
        self.stderr.write(
            f"Created {token.role} token {token.name!r} ({token.prefix}…) for "
            f"{token.owner_label}, {expiry}. This is the only time it is shown: store it now.",
            style_func=self.style.WARNING,
        )
        self.stdout.write(issued.raw)
