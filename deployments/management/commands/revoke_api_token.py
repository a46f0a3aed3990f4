"""`manage.py revoke_api_token PREFIX_OR_NAME`: stops an API token for good."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from deployments import tokens
from deployments.models import ApiToken


class Command(BaseCommand):
    help = (
        "Revokes one API token, named by its prefix (as the admin lists it, e.g. "
        "api-Ab3xYz), its name, or the whole token (say, one that leaked). Revoking a "
        "revoked token changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", metavar="PREFIX_OR_NAME")

    def handle(self, *args: Any, token: str, **options: Any) -> None:
        text = token.strip().removesuffix("…")
        if not text:
            raise CommandError("give a token's prefix, name, or the token itself")
        matches = list(
            ApiToken.objects.select_related("user")
            .filter(Q(prefix=text) | Q(name=text) | Q(digest=tokens.token_digest(text)))
            .order_by("created_at")
        )
        if not matches:
            raise CommandError(f"no token has the prefix or name {text!r}")
        if len(matches) > 1:
            # Names are not unique; revoking all of them at once is rarely what was meant.
            listed = ", ".join(f"{m.prefix} ({m.name}, {m.owner_label})" for m in matches)
            raise CommandError(f"{len(matches)} tokens match {text!r}: {listed}; give a prefix")
        match = matches[0]
        label = f"{match.name!r} ({match.prefix}…) of {match.owner_label}"
        if tokens.api_token_revoke(token=match):
            self.stdout.write(f"Revoked token {label}.")
        else:
            self.stdout.write(f"Token {label} was already revoked on {match.revoked_at:%Y-%m-%d}.")
