"""Who may call the API: tokens as LaunchDarkly takes them, roles, and browser sessions.

The endpoints' own behaviour is tested elsewhere; here a call either stops at the door
(401, 403) or gets past it (any other status), which is all these tests assert.
"""

import logging
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from deployments import roles
from deployments.models import ApiToken
from deployments.tokens import LAST_USED_RESOLUTION_SECONDS, api_token_create, api_token_revoke

from .conftest import LaunchDarklyClient, issue_token

LIST = "/api/v2/engineering-insights/deployments"
EVENTS = "/api/v2/engineering-insights/deployment-events"
LIST_PARAMS = {"projectKey": "default", "environmentKey": "production"}
# A well-formed JSON Patch: whatever the endpoint does with it, it is not refused as such.
PATCH = [{"op": "replace", "path": "/archived", "value": True}]
EVENT = {
    "projectKey": "default",
    "environmentKey": "production",
    "applicationKey": "billing-service",
    "version": "a90a8a2",
    "eventType": "started",
}
REFUSED = (401, 403)


def detail_path() -> str:
    return f"{LIST}/{uuid.uuid4()}"


def make_user(username, *role_names, is_active=True):
    user = get_user_model().objects.create_user(username, is_active=is_active)
    user.groups.set(Group.objects.filter(name__in=role_names))
    return user


def assert_refused(response, status, code, message_part=""):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert message_part.lower() in body["message"].lower()


def token_client(raw) -> LaunchDarklyClient:
    return LaunchDarklyClient(Client(), raw)


# Tokens


def test_the_raw_token_as_the_whole_header_is_let_in(api):
    assert api.get(LIST, LIST_PARAMS).status_code not in REFUSED


def test_a_plain_client_without_an_api_version_header_is_let_in(writer_token):
    # As a pipeline's curl would call: no LD-API-Version, the token as the header.
    response = Client().get(LIST, LIST_PARAMS, HTTP_AUTHORIZATION=writer_token)

    assert response.status_code not in REFUSED
    assert response["Content-Type"].startswith("application/json")


def test_a_plain_client_without_a_token_is_refused_as_json(db):
    response = Client().get(LIST, LIST_PARAMS)

    assert_refused(response, 401, "unauthorized")
    assert response["WWW-Authenticate"]


@pytest.mark.parametrize("scheme", ["Bearer ", "bearer ", "BEARER   "])
def test_a_bearer_token_is_let_in(writer_token, scheme):
    response = token_client(f"{scheme}{writer_token}").get(LIST, LIST_PARAMS)

    assert response.status_code not in REFUSED


def test_surrounding_whitespace_does_not_matter(writer_token):
    response = token_client(f"  {writer_token}  ").get(LIST, LIST_PARAMS)

    assert response.status_code not in REFUSED


@pytest.mark.parametrize(
    "header", ["api-not-a-real-token", "Bearer api-not-a-real-token", "Bearer", "Basic dXNlcjpw"]
)
def test_a_wrong_token_is_unauthorized(db, header):
    response = token_client(header).get(LIST, LIST_PARAMS)

    assert_refused(response, 401, "unauthorized", "Invalid access token")
    # HTTP requires a challenge with every 401.
    assert response["WWW-Authenticate"]


def test_a_token_off_by_one_character_is_unauthorized(writer_token):
    tampered = writer_token[:-1] + ("A" if writer_token[-1] != "A" else "B")

    assert_refused(token_client(tampered).get(LIST, LIST_PARAMS), 401, "unauthorized")


def test_the_prefix_or_digest_of_a_token_does_not_let_anyone_in(writer_token):
    token = ApiToken.objects.get()

    for header in (token.prefix, token.digest):
        assert_refused(token_client(header).get(LIST, LIST_PARAMS), 401, "unauthorized")


def test_a_missing_header_is_unauthorized(anonymous_api):
    assert_refused(anonymous_api.get(LIST, LIST_PARAMS), 401, "unauthorized")
    assert_refused(anonymous_api.patch(detail_path(), PATCH), 401, "unauthorized")
    assert_refused(anonymous_api.post(EVENTS, EVENT), 401, "unauthorized")


def test_a_blank_header_is_unauthorized(db):
    assert_refused(token_client("   ").get(LIST, LIST_PARAMS), 401, "unauthorized")


def test_a_revoked_token_is_unauthorized_and_says_so(api):
    api_token_revoke(token=ApiToken.objects.get())

    assert_refused(api.get(LIST, LIST_PARAMS), 401, "unauthorized", "revoked")


def test_an_expired_token_is_unauthorized_and_says_so(api):
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_refused(api.get(LIST, LIST_PARAMS), 401, "unauthorized", "expired")


def test_a_token_before_its_expiry_is_let_in(api):
    ApiToken.objects.update(expires_at=timezone.now() + timedelta(minutes=5))

    assert api.get(LIST, LIST_PARAMS).status_code not in REFUSED


def test_a_deactivated_users_token_is_unauthorized(db):
    alice = make_user("alice", roles.RELEASE_CAPTAIN)
    client = token_client(issue_token(ApiToken.Role.WRITER, user=alice))
    assert client.get(LIST, LIST_PARAMS).status_code not in REFUSED

    alice.is_active = False
    alice.save()

    assert_refused(client.get(LIST, LIST_PARAMS), 401, "unauthorized", "deactivated")


def test_a_wrong_token_is_not_rescued_by_a_signed_in_session(db):
    client = Client()
    client.force_login(make_user("captain", roles.RELEASE_CAPTAIN))

    response = LaunchDarklyClient(client, "api-not-a-real-token").get(LIST, LIST_PARAMS)

    assert_refused(response, 401, "unauthorized")


# Roles


def test_a_reader_token_may_read(reader_api):
    assert reader_api.get(LIST, LIST_PARAMS).status_code not in REFUSED
    assert reader_api.get(detail_path()).status_code not in REFUSED


def test_a_reader_token_may_not_patch(reader_api):
    assert_refused(reader_api.patch(detail_path(), PATCH), 403, "forbidden", "writer")


def test_a_reader_token_may_not_post_deployment_events(reader_api):
    assert_refused(reader_api.post(EVENTS, EVENT), 403, "forbidden", "writer")


def test_a_reader_token_is_refused_before_its_body_is_read(reader_api):
    # Which would otherwise tell a reader how the endpoint validates what it cannot send.
    response = reader_api.patch(detail_path(), raw="{not json", content_type="application/json")

    assert_refused(response, 403, "forbidden")


def test_a_writer_token_may_patch_and_post_deployment_events(api):
    assert api.patch(detail_path(), PATCH).status_code not in REFUSED
    assert api.post(EVENTS, EVENT).status_code not in REFUSED


def test_a_users_writer_token_writes_while_the_user_may_edit(db):
    captain = make_user("captain", roles.RELEASE_CAPTAIN)
    client = token_client(issue_token(ApiToken.Role.WRITER, user=captain))

    assert client.patch(detail_path(), PATCH).status_code not in REFUSED


def test_a_users_writer_token_gives_no_more_than_the_user_has(db):
    alice = make_user("alice", roles.VIEWER)
    client = token_client(issue_token(ApiToken.Role.WRITER, user=alice))

    response = client.patch(detail_path(), PATCH)

    assert response.status_code == 403
    assert response.json()["message"] == "alice may not edit deployments"
    assert client.get(LIST, LIST_PARAMS).status_code not in REFUSED


def test_a_token_of_a_user_without_a_role_reads_nothing(db):
    nobody = make_user("nobody")
    client = token_client(issue_token(ApiToken.Role.READER, user=nobody))

    assert client.get(LIST, LIST_PARAMS).status_code == 403


# Browser sessions


@pytest.fixture
def session_client(db):
    def signed_in(*role_names, enforce_csrf_checks=False):
        client = Client(enforce_csrf_checks=enforce_csrf_checks)
        client.force_login(make_user("-".join(role_names) or "nobody", *role_names))
        return client

    return signed_in


def test_a_viewers_session_may_read_but_not_write(session_client):
    client = LaunchDarklyClient(session_client(roles.VIEWER), None)

    assert client.get(LIST, LIST_PARAMS).status_code not in REFUSED
    assert_refused(client.patch(detail_path(), PATCH), 403, "forbidden")
    assert_refused(client.post(EVENTS, EVENT), 403, "forbidden")


def test_a_session_without_a_role_may_not_read(session_client):
    client = LaunchDarklyClient(session_client(), None)

    assert_refused(client.get(LIST, LIST_PARAMS), 403, "forbidden")


def test_a_release_captains_session_patch_without_csrf_token_is_forbidden(session_client):
    client = LaunchDarklyClient(
        session_client(roles.RELEASE_CAPTAIN, enforce_csrf_checks=True), None
    )

    assert_refused(client.patch(detail_path(), PATCH), 403, "forbidden", "CSRF")


def test_a_release_captains_session_patch_with_csrf_token_gets_in(session_client):
    django_client = session_client(roles.RELEASE_CAPTAIN, enforce_csrf_checks=True)
    django_client.get("/login/")  # any page with a form sets the CSRF cookie
    csrf_token = django_client.cookies["csrftoken"].value
    client = LaunchDarklyClient(django_client, None)

    response = client.patch(detail_path(), PATCH, headers={"X-CSRFToken": csrf_token})

    assert response.status_code not in REFUSED


def test_a_token_needs_no_csrf_token(writer_token):
    client = LaunchDarklyClient(Client(enforce_csrf_checks=True), writer_token)

    assert client.patch(detail_path(), PATCH).status_code not in REFUSED


def test_a_deactivated_users_session_is_unauthorized(session_client):
    django_client = session_client(roles.RELEASE_CAPTAIN)
    get_user_model().objects.update(is_active=False)

    response = LaunchDarklyClient(django_client, None).get(LIST, LIST_PARAMS)

    assert_refused(response, 401, "unauthorized")


# Last use


def test_last_use_is_recorded_at_most_once_per_resolution(api):
    assert ApiToken.objects.get().last_used_at is None

    api.get(LIST, LIST_PARAMS)
    first = ApiToken.objects.get().last_used_at
    assert first is not None

    api.get(LIST, LIST_PARAMS)
    assert ApiToken.objects.get().last_used_at == first

    recent = timezone.now() - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS - 5)
    ApiToken.objects.update(last_used_at=recent)
    api.get(LIST, LIST_PARAMS)
    assert ApiToken.objects.get().last_used_at == recent

    stale = timezone.now() - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS + 1)
    ApiToken.objects.update(last_used_at=stale)
    api.get(LIST, LIST_PARAMS)
    assert ApiToken.objects.get().last_used_at > stale + timedelta(seconds=1)


def test_a_refused_call_does_not_count_as_use(api):
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    api.get(LIST, LIST_PARAMS)

    assert ApiToken.objects.get().last_used_at is None


# What leaks


def test_a_failed_attempt_never_logs_the_token(db, caplog):
    caplog.set_level(logging.DEBUG)
    revoked = api_token_create(name="old", role="writer", service_name="ci")
    api_token_revoke(token=revoked.token)
    reader = api_token_create(name="reader", role="reader", service_name="ci").raw
    guessed = "api-guessed-0123456789abcdefghijklmnopqrstuvwxyz"

    token_client(guessed).get(LIST, LIST_PARAMS)
    token_client(f"Bearer {revoked.raw}").patch(detail_path(), PATCH)
    token_client(reader).post(EVENTS, EVENT)

    assert caplog.records, "the refusals are logged (django.request warns on 4xx)"
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    for secret in (guessed, revoked.raw, reader):
        assert secret not in logged


def test_a_refusal_never_echoes_the_token(writer_token):
    api_token_revoke(token=ApiToken.objects.get())

    response = token_client(writer_token).get(LIST, LIST_PARAMS)

    assert writer_token not in response.content.decode()
    assert all(writer_token not in value for value in response.headers.values())


@pytest.mark.parametrize(
    ("method", "path", "token", "status"),
    [
        ("GET", LIST, None, 401),
        ("GET", LIST, "api-wrong", 401),
        ("PATCH", "detail", None, 401),
        ("PATCH", "detail", "reader", 403),
        ("POST", EVENTS, "reader", 403),
        ("GET", "/api/v2/no-such-thing", None, 404),
        ("GET", "/api/v2/no-such-thing", "writer", 404),
        ("DELETE", "/api/v2/engineering-insights", "writer", 404),
        ("GET", "/api/", None, 404),
    ],
)
def test_every_refusal_is_launchdarkly_json_never_html(
    writer_token, reader_token, method, path, token, status
):
    header = {"reader": reader_token, "writer": writer_token}.get(token, token)
    path = detail_path() if path == "detail" else path

    response = token_client(header).request(method, path, body=PATCH)

    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert b"<html" not in response.content.lower()
    assert set(response.json()) == {"code", "message"}


def test_an_unknown_api_path_is_a_json_404(anonymous_api):
    response = anonymous_api.get("/api/v2/engineering-insights/deployments/x/y")

    assert_refused(response, 404, "not_found")
