"""Rate limits: per caller, in fixed windows, answered with LaunchDarkly's 429 and headers.

The clock is throttling's own `time` (a stand-in object), so windows pass without
sleeping and nothing else in the process sees a false time.
"""

import logging
import math
import time
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from deployments import roles
from deployments.api import throttling
from deployments.models import ApiToken

from .conftest import LaunchDarklyClient, issue_token

LIST = "/api/v2/engineering-insights/deployments"
PARAMS = {"projectKey": "default", "environmentKey": "production"}
WINDOW = 10
HEADERS = ("X-Ratelimit-Route-Remaining", "X-Ratelimit-Reset", "Retry-After")


@pytest.fixture(autouse=True)
def three_per_ten_seconds(settings):
    settings.API_RATE_LIMIT = f"3/{WINDOW}s"
    cache.clear()
    yield
    cache.clear()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Throttling's clock, 2.5 s into the window after the real one (so still ahead)."""
    next_window = (math.floor(time.time() / WINDOW) + 1) * WINDOW
    fake = Clock(next_window + 2.5)
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=fake.time))
    return fake


def window_start(clock: Clock) -> int:
    return math.floor(clock.now / WINDOW) * WINDOW


def get(client):
    return client.get(LIST, PARAMS)


def test_the_fourth_call_in_a_window_is_rate_limited(api, clock):
    for _ in range(3):
        assert get(api).status_code != 429

    response = get(api)

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response["Content-Type"].startswith("application/json")
    reset_ms = (window_start(clock) + WINDOW) * 1000
    assert response["X-Ratelimit-Reset"] == str(reset_ms)
    assert reset_ms > time.time() * 1000  # epoch milliseconds, not seconds
    assert response["X-Ratelimit-Route-Remaining"] == "0"
    # 7.5 s are left in the window; Retry-After rounds up to whole seconds.
    assert response["Retry-After"] == "8"


def test_retry_after_is_at_least_one_second_at_the_end_of_a_window(api, clock):
    clock.now = window_start(clock) + WINDOW - 0.001
    for _ in range(3):
        get(api)

    response = get(api)

    assert response.status_code == 429
    assert response["Retry-After"] == "1"


def test_remaining_counts_down_on_each_call_that_gets_through(api, clock):
    remaining = []
    for _ in range(3):
        response = get(api)
        assert response.status_code not in (401, 403, 429)
        remaining.append(response["X-Ratelimit-Route-Remaining"])
        assert response["X-Ratelimit-Reset"] == str((window_start(clock) + WINDOW) * 1000)
        assert "Retry-After" not in response

    assert remaining == ["2", "1", "0"]


def test_calls_keep_being_refused_until_the_window_ends(api, clock):
    for _ in range(3):
        get(api)

    for _ in range(3):
        assert get(api).status_code == 429
        clock.now += 1
    clock.now = window_start(clock) + WINDOW - 0.5
    assert get(api).status_code == 429


def test_a_new_window_starts_afresh(api, clock):
    for _ in range(4):
        get(api)
    assert get(api).status_code == 429

    clock.now = window_start(clock) + WINDOW

    response = get(api)
    assert response.status_code != 429
    assert response["X-Ratelimit-Route-Remaining"] == "2"


def test_each_token_has_its_own_count(api, clock):
    other = LaunchDarklyClient(Client(), issue_token(ApiToken.Role.READER))
    for _ in range(3):
        get(api)
    assert get(api).status_code == 429

    response = get(other)

    assert response.status_code != 429
    assert response["X-Ratelimit-Route-Remaining"] == "2"


def test_the_same_token_is_counted_once_however_it_is_sent(writer_token, clock):
    raw = LaunchDarklyClient(Client(), writer_token)
    bearer = LaunchDarklyClient(Client(), f"Bearer {writer_token}")
    get(raw)
    get(bearer)
    get(raw)

    assert get(bearer).status_code == 429


def test_a_signed_in_user_is_limited_across_sessions(db, clock):
    viewer = get_user_model().objects.create_user("viewer")
    viewer.groups.set([Group.objects.get(name=roles.VIEWER)])
    sessions = []
    for _ in range(2):
        client = Client()
        client.force_login(viewer)
        sessions.append(LaunchDarklyClient(client, None))

    for index in range(3):
        assert get(sessions[index % 2]).status_code != 429

    assert get(sessions[1]).status_code == 429


def test_a_users_token_and_session_are_counted_apart(db, clock):
    # The token is its own credential: a script using it does not lock its owner's
    # browser out of the API, nor the other way round.
    captain = get_user_model().objects.create_user("captain")
    captain.groups.set([Group.objects.get(name=roles.RELEASE_CAPTAIN)])
    token_client = LaunchDarklyClient(Client(), issue_token(ApiToken.Role.READER, user=captain))
    session = Client()
    session.force_login(captain)
    for _ in range(3):
        get(token_client)
    assert get(token_client).status_code == 429

    assert get(LaunchDarklyClient(session, None)).status_code != 429


def test_no_limit_when_the_setting_is_empty(settings, api):
    settings.API_RATE_LIMIT = ""

    for _ in range(10):
        response = get(api)
        assert response.status_code != 429
        assert not any(header in response for header in HEADERS)


@pytest.mark.parametrize(
    ("text", "requests", "seconds"), [("3/10s", 3, 10), (" 300 / 10 s ", 300, 10)]
)
def test_a_valid_setting_is_read(settings, text, requests, seconds):
    settings.API_RATE_LIMIT = text

    assert throttling.configured_rate() == throttling.Rate(requests, seconds)


@pytest.mark.parametrize(
    "text", ["3", "3/10", "3/10m", "0/10s", "3/0s", "-1/10s", "3 per 10s", "abc", "3.5/10s"]
)
def test_an_invalid_setting_is_improperly_configured(settings, text):
    settings.API_RATE_LIMIT = text

    with pytest.raises(ImproperlyConfigured) as error:
        throttling.configured_rate()

    message = str(error.value)
    assert "API_RATE_LIMIT" in message
    assert repr(text) in message
    assert "300/10s" in message  # an example of what is expected


def test_an_invalid_setting_fails_the_call_loudly_as_json(settings, api, caplog):
    settings.API_RATE_LIMIT = "lots"

    response = get(api)

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("API_RATE_LIMIT" in str(record.exc_info[1]) for record in errors if record.exc_info)


def test_a_bad_rate_limit_is_reported_by_the_system_checks(settings):
    from django.core.checks import run_checks

    settings.API_RATE_LIMIT = "fast"

    errors = [error for error in run_checks() if error.id == "deployments.E001"]

    assert len(errors) == 1 and "fast" in errors[0].msg
