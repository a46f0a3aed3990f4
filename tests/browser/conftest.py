"""Browser tests: the pages driven in real headless Chromium through Playwright.

Playwright cannot download its own browser on these machines, so the tests launch
Debian's `/usr/bin/chromium` (CI installs it, see `.ci/run`). Without it every test
here is skipped with a reason that says so, and the run ends with a banner; with
`BROWSER_TESTS_REQUIRED=1` (CI) a missing browser fails instead.

The server is pytest-django's `live_server` (a real HTTP server in a thread, on a
transactional test database); `base_url` points Playwright at it, so tests say
`page.goto("/deployments/")`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from deployments import roles

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps trying to reach the internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MISSING = (
    f"BROWSER TESTS NOT RUN: no Chromium at {CHROMIUM}. "
    "Install it with `apt-get install -y chromium` (.ci/run does)."
)
HERE = Path(__file__).parent

# Playwright's sync API keeps an asyncio loop running in the main thread from the first
# browser test to the end of the session, and Django refuses ORM calls from a thread
# with a running loop. The tests' ORM calls are synchronous all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _required() -> bool:
    return os.environ.get("BROWSER_TESTS_REQUIRED", "") not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "screenshots: writes docs/screenshots/*.png; runs only with -m screenshots"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if HERE in Path(item.fspath).parents]
    # Screenshots rewrite files in docs/: only when asked for by name.
    if "screenshots" not in (config.getoption("markexpr") or ""):
        shots = [item for item in ours if item.get_closest_marker("screenshots")]
        if shots:
            config.hook.pytest_deselected(items=shots)
            items[:] = [item for item in items if item not in shots]
    if not CHROMIUM.exists() and not _required():
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=MISSING))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not CHROMIUM.exists():
        terminalreporter.write_sep("!", MISSING, red=True, bold=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM.exists():
        pytest.fail(MISSING + " BROWSER_TESTS_REQUIRED is set.", pytrace=False)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def seeded(transactional_db) -> None:
    """300 demo deployments ending now (so that date presets find them), and the demo
    users (viewer, captain, admin).

    The live server needs committed rows, so these tests flush the database afterwards,
    and so may the transactional tests before them, taking the role groups of the data
    migration along. The groups come back here by name (the pages need no more from them);
    a serialized rollback would restore them whole but clashes with the content types
    that other tests' flushes recreate.
    """
    from django.core.cache import cache

    from deployments.management.commands.create_demo_users import demo_users_reset

    # The list keeps filter choices and status counts for a minute in the local-memory
    # cache, which the live server's thread shares with the tests: an earlier test's
    # data must not show.
    cache.clear()
    for role in roles.ROLES:
        Group.objects.get_or_create(name=role)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    call_command("seed_demo", deployments=300, now=now.isoformat(), verbosity=0)
    demo_users_reset()


@pytest.fixture
def sign_in(live_server) -> Callable:
    """Puts a signed-in session for a new user of `role` into a browser context, without
    the login form (the flow test uses the form once)."""

    def sign_in(context, role: str = roles.VIEWER, username: str = "", **fields) -> None:
        User = get_user_model()
        user = User.objects.create_user(username or f"{role}-{User.objects.count()}", **fields)
        user.groups.add(Group.objects.get(name=role))
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"]
        context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])

    return sign_in
