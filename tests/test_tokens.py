"""API tokens: made with their checks, stored as digests, revoked, and checked."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from deployments.errors import InvalidRequest
from deployments.models import ApiToken
from deployments.tokens import (
    LAST_USED_RESOLUTION_SECONDS,
    TOKEN_PREFIX,
    TokenRefused,
    api_token_check,
    api_token_create,
    api_token_revoke,
    token_digest,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice")


def create(**overrides):
    details = {"name": "ci", "role": ApiToken.Role.READER, "service_name": "ci-pipeline"}
    return api_token_create(**{**details, **overrides})


def refused_attributes(**details) -> list[str]:
    with pytest.raises(InvalidRequest) as refused:
        create(**details)
    assert refused.value.status == 400
    return [error["attribute"] for error in refused.value.errors]


@pytest.mark.parametrize(
    ("details", "attribute"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"role": "admin"}, "role"),
        ({"service_name": ""}, "owner"),
        ({"service_name": "   "}, "owner"),
        ({"service_name": "s" * 121}, "owner"),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, "expiresAt"),
    ],
)
def test_create_refuses_invalid_details_and_stores_nothing(details, attribute):
    assert refused_attributes(**details) == [attribute]
    assert not ApiToken.objects.exists()


def test_create_reports_every_problem_at_once():
    attributes = refused_attributes(name="", role="root", service_name="")

    assert attributes == ["name", "role", "owner"]


def test_create_refuses_a_user_and_a_service_together(alice):
    assert refused_attributes(user=alice, service_name="ci") == ["owner"]


def test_create_refuses_a_deactivated_user(alice):
    alice.is_active = False
    alice.save()

    assert refused_attributes(user=alice, service_name="") == ["owner"]


def test_the_raw_token_is_never_stored_only_its_digest_and_prefix(alice):
    issued = create(user=alice, service_name="", created_by=alice)

    token = ApiToken.objects.get()
    assert issued.raw.startswith(TOKEN_PREFIX)
    assert len(issued.raw) > 40  # 256 random bits
    assert token.digest == token_digest(issued.raw)
    assert token.prefix == issued.raw[: len(TOKEN_PREFIX) + 6]
    assert issued.raw.startswith(token.prefix)
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(issued.raw in str(value) for value in stored.values())
    assert (token.user, token.created_by, token.service_name) == (alice, alice, "")


def test_two_tokens_never_share_a_value():
    first, second = create(), create()

    assert first.raw != second.raw
    assert first.token.digest != second.token.digest


def test_create_strips_the_name_and_service():
    token = create(name="  deploy bot ", service_name=" ci ").token

    assert (token.name, token.service_name, token.owner_label) == ("deploy bot", "ci", "service:ci")


def test_revoke_is_idempotent_and_keeps_the_first_time():
    token = create().token

    assert api_token_revoke(token=token) is True
    first = ApiToken.objects.get().revoked_at
    assert first is not None
    assert api_token_revoke(token=token) is False
    stale_copy = ApiToken.objects.get()
    stale_copy.revoked_at = None  # as loaded before another admin revoked it
    assert api_token_revoke(token=stale_copy) is False
    assert stale_copy.revoked_at == first
    assert ApiToken.objects.get().revoked_at == first


def test_check_returns_the_live_token():
    issued = create()

    assert api_token_check(issued.raw) == issued.token


@pytest.mark.parametrize("raw", ["", "api-unknown", "Bearer x", "x" * 10_000])
def test_check_refuses_an_unknown_token(raw):
    create()

    with pytest.raises(TokenRefused, match="Invalid access token"):
        api_token_check(raw)


def test_check_refuses_a_token_by_its_prefix_or_digest():
    issued = create()

    for almost in (issued.token.prefix, issued.token.digest, issued.raw[:-1]):
        with pytest.raises(TokenRefused):
            api_token_check(almost)


def test_check_refuses_a_revoked_token():
    issued = create()
    api_token_revoke(token=issued.token)

    with pytest.raises(TokenRefused, match="revoked"):
        api_token_check(issued.raw)


def test_check_refuses_an_expired_token():
    issued = create(expires_at=timezone.now() + timedelta(days=1))
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(TokenRefused, match="expired"):
        api_token_check(issued.raw)


def test_check_accepts_a_token_before_its_expiry():
    issued = create(expires_at=timezone.now() + timedelta(minutes=1))

    assert api_token_check(issued.raw) == issued.token


def test_check_refuses_the_token_of_a_deactivated_user(alice):
    issued = create(user=alice, service_name="")
    alice.is_active = False
    alice.save()

    with pytest.raises(TokenRefused, match="deactivated"):
        api_token_check(issued.raw)


def test_check_records_last_use_at_most_once_per_resolution():
    issued = create()
    assert issued.token.last_used_at is None

    api_token_check(issued.raw)
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    api_token_check(issued.raw)
    assert ApiToken.objects.get().last_used_at == first

    long_ago = timezone.now() - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS + 1)
    ApiToken.objects.update(last_used_at=long_ago)
    api_token_check(issued.raw)
    assert ApiToken.objects.get().last_used_at > long_ago + timedelta(seconds=1)


def test_a_refused_token_is_not_marked_used():
    issued = create()
    api_token_revoke(token=issued.token)

    with pytest.raises(TokenRefused):
        api_token_check(issued.raw)
    assert ApiToken.objects.get().last_used_at is None
