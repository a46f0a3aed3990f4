"""API tokens: made, checked and revoked here; only digests are stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from .errors import InvalidRequest
from .models import ApiToken

TOKEN_PREFIX = "api-"
# Recording every use would turn each API read into a write; once a minute is enough to
# answer "is this token still used?".
LAST_USED_RESOLUTION_SECONDS = 60


def token_digest(raw: str) -> str:
    # Tokens are 256 random bits, so a fast hash is safe; a slow one would tax every call.
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once, never stored


def api_token_create(
    *,
    name: str,
    role: str,
    user: AbstractBaseUser | None = None,
    service_name: str = "",
    expires_at: datetime | None = None,
    created_by: AbstractBaseUser | None = None,
) -> IssuedToken:
    """Makes a token for a user or a named service. Raises InvalidRequest when the
    name is blank, the role unknown, there is no owner, or it would expire in the past."""
    errors = []
    if not name.strip():
        errors.append({"attribute": "name", "reason": "must not be blank"})
    if role not in ApiToken.Role.values:
        errors.append({"attribute": "role", "reason": f"must be one of {ApiToken.Role.values}"})
    if user is None and not service_name.strip():
        errors.append({"attribute": "owner", "reason": "a token belongs to a user or a service"})
    if expires_at is not None and expires_at <= timezone.now():
        errors.append({"attribute": "expiresAt", "reason": "must be in the future"})
    if errors:
        raise InvalidRequest("The token cannot be made", errors=errors)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name.strip(),
        role=role,
        user=user,
        service_name=service_name.strip(),
        expires_at=expires_at,
        created_by=created_by,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(raw),
    )
    return IssuedToken(token=token, raw=raw)


def api_token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


class TokenRefused(Exception):
    """A token that does not let its bearer in; the message says why."""


def api_token_check(raw: str) -> ApiToken:
    """The live token for `raw`. Raises TokenRefused when unknown, revoked or expired,
    or when its user is deactivated."""
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
    if token is None:
        raise TokenRefused("Invalid access token")
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused("This access token has been revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused("This access token has expired")
    if token.user_id is not None and not token.user.is_active:
        raise TokenRefused("The user this access token belongs to is deactivated")
    stale = token.last_used_at is None or (
        (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    )
    if stale:
        with transaction.atomic():
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
