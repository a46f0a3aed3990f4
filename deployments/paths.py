"""URL paths reversed once per script prefix and URLconf, not once per link.

`reverse` takes about 20 µs, and a `{% url %}` tag about 40; a list page has two dozen
links and the layout half a dozen more, so each path is worked out once for the script
prefix and URLconf it depends on (both are part of the cache key, so a site mounted
under a prefix, or a request with its own URLconf, gets its own paths).
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse


def path(name: str, *args: Any) -> str:
    """`reverse(name, args=args)`, cached."""
    return _reversed(name, args, get_script_prefix(), _urlconf())


def deployment_path_parts() -> tuple[str, str]:
    """The detail page's path around a deployment's id, as (before, after): a page of
    rows puts each id in between rather than reversing once per row."""
    return _deployment_path_parts(get_script_prefix(), _urlconf())


def deployment_path(deployment_id: Any) -> str:
    before, after = deployment_path_parts()
    return f"{before}{deployment_id}{after}"


def layout_paths() -> dict[str, str | None]:
    """The base layout's links; `insights` is None until a URL of that name exists
    (under the app's namespace or not)."""
    return _layout_paths(get_script_prefix(), _urlconf())


def _urlconf() -> str:
    return get_urlconf() or settings.ROOT_URLCONF


@lru_cache(maxsize=64)
def _reversed(name: str, args: tuple, script_prefix: str, urlconf: str) -> str:
    return reverse(name, args=args, urlconf=urlconf)


@lru_cache(maxsize=8)
def _deployment_path_parts(script_prefix: str, urlconf: str) -> tuple[str, str]:
    placeholder = str(uuid.UUID(int=0))
    before, _, after = reverse("deployments:detail", args=[placeholder], urlconf=urlconf).partition(
        placeholder
    )
    return before, after


@lru_cache(maxsize=8)
def _layout_paths(script_prefix: str, urlconf: str) -> dict[str, str | None]:
    def optional(*names: str) -> str | None:
        for name in names:
            try:
                return reverse(name, urlconf=urlconf)
            except NoReverseMatch:
                continue
        return None

    return {
        "home": reverse("deployments:home", urlconf=urlconf),
        "list": reverse("deployments:list", urlconf=urlconf),
        "insights": optional("deployments:insights", "insights"),
        "admin": optional("admin:index"),
        "login": reverse("login", urlconf=urlconf),
        "logout": reverse("logout", urlconf=urlconf),
    }
