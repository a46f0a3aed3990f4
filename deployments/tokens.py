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
# The model's limits: longer values fail on PostgreSQL and silently fit on SQLite.
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length
SERVICE_NAME_MAX_LENGTH = ApiToken._meta.get_field("service_name").max_length


def token_digest(raw: str) -> str:
    # Tokens are 256 random bits, so a fast hash is safe; a slow one would tax every call.
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once, never stored


def api_token_errors(
    *,
    name: str,
    role: str,
    user: AbstractBaseUser | None = None,
    service_name: str = "",
    expires_at: datetime | None = None,
) -> list[dict[str, str]]:
    """Why a token with these details cannot be made, as LaunchDarkly `errors` entries
    (empty when it can). The admin's form asks this too, so the rules live here once."""
    errors = []
    if not name.strip():
        errors.append({"attribute": "name", "reason": "must not be blank"})
    elif len(name.strip()) > NAME_MAX_LENGTH:
        errors.append({"attribute": "name", "reason": f"at most {NAME_MAX_LENGTH} characters"})
    if role not in ApiToken.Role.values:
        errors.append({"attribute": "role", "reason": f"must be one of {ApiToken.Role.values}"})
    if user is None and not service_name.strip():
        errors.append({"attribute": "owner", "reason": "a token belongs to a user or a service"})
    elif user is not None and service_name.strip():
        # The user would win at check time and the service name would only mislead.
        errors.append({"attribute": "owner", "reason": "a user or a service, not both"})
    elif user is not None and not user.is_active:
        errors.append({"attribute": "owner", "reason": "the user is deactivated"})
    elif len(service_name.strip()) > SERVICE_NAME_MAX_LENGTH:
        reason = f"a service name has at most {SERVICE_NAME_MAX_LENGTH} characters"
        errors.append({"attribute": "owner", "reason": reason})
    if expires_at is not None and expires_at <= timezone.now():
        errors.append({"attribute": "expiresAt", "reason": "must be in the future"})
    return errors


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
    name is blank or too long, the role unknown, there is no owner or two, the user is
    deactivated, or it would expire in the past."""
    errors = api_token_errors(
        name=name, role=role, user=user, service_name=service_name, expires_at=expires_at
    )
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


def api_token_revoke(*, token: ApiToken) -> bool:
    """Revokes `token` for good. Returns False when it already was: revoking twice is
    harmless and keeps the first revocation time, even when two admins race."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        token.revoked_at = now
    else:
        token.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)


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
