"""Who is calling: an API token, as LaunchDarkly takes it, or a signed-in browser.

LaunchDarkly reads the raw token as the whole `Authorization` header; `Bearer <token>`
is accepted too. Browser sessions use DRF's session authentication, which enforces CSRF.
"""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..models import ApiToken
from ..tokens import TokenRefused, api_token_check


@dataclass(frozen=True)
class ServicePrincipal:
    """The caller behind a service token: no user account, but authenticated."""

    name: str
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    def get_username(self) -> str:
        return f"service:{self.name}"

    def has_perm(self, perm: str, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return self.get_username()


class LaunchDarklyTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "").strip()
        if not header:
            return None
        raw = header[len("Bearer ") :].strip() if header.lower().startswith("bearer ") else header
        try:
            token = api_token_check(raw)
        except TokenRefused as refused:
            raise exceptions.AuthenticationFailed(str(refused)) from None
        caller = token.user if token.user_id else ServicePrincipal(token.service_name)
        return caller, token

    def authenticate_header(self, request) -> str:
        # Any value makes DRF answer 401 (not 403) to a missing token, as LaunchDarkly does.
        return "ApiKey"


def caller_token(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


class LaunchDarklyTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token in this server's OpenAPI document as LaunchDarkly's spec does."""

    target_class = LaunchDarklyTokenAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization"}
