"""The LaunchDarkly client against a real HTTP server on 127.0.0.1 that misbehaves on cue.

Each case asserts what was sent, whether it was retried, and the error it became.
"""

import json
import logging
import random
import time

import pytest

from deployments.upstream import (
    LaunchDarklyClient,
    RetryPolicy,
    UpstreamAuthFailed,
    UpstreamNotFound,
    UpstreamPatchUncertain,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
    patch_has_landed,
)
from tests.fault_server import Answer, FaultServer

TOKEN = "api-0123456789-secret-token"
DEPLOYMENT = {"id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "status": "started"}
PAGE = {"totalCount": 1, "items": [DEPLOYMENT], "_links": {}}
DETAIL = "/api/v2/engineering-insights/deployments/a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"


@pytest.fixture
def server():
    with FaultServer() as running:
        yield running


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(server, waits):
    made = LaunchDarklyClient(
        base_url=server.url,
        token=TOKEN,
        timeout=(1.0, 0.5),
        retry=RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, total_budget=5),
        sleep=waits.append,  # record the waits instead of sleeping them
        rng=random.Random(1),
    )
    yield made
    made.close()


def list_page(client):
    return client.list_deployments(project_key="default", environment_key="production")


def test_reads_send_the_token_version_agent_and_parameters(server, client):
    server.script(Answer(body=PAGE))

    assert list_page(client) == PAGE

    (request,) = server.received
    assert request.headers["Authorization"] == TOKEN
    assert request.headers["LD-API-Version"] == "beta"
    assert request.headers["User-Agent"].startswith("deployments-dashboard/")
    assert request.query == {
        "projectKey": ["default"],
        "environmentKey": ["production"],
        "limit": ["100"],
        "expand": ["pullRequests,flagReferences"],
    }


def test_429_is_retried_after_the_wait_retry_after_asks(server, client, waits):
    server.script(
        Answer(
            status=429,
            body={"code": "rate_limited", "message": "slow"},
            headers={"Retry-After": "3"},
        ),
        Answer(body=PAGE),
    )

    assert list_page(client) == PAGE
    assert len(server.received) == 2
    assert waits == [3.0]
    assert client.stats.rate_limit_waits == 1


def test_429_honours_x_ratelimit_reset_when_there_is_no_retry_after(server, client, waits):
    reset = int((time.time() + 2) * 1000)
    server.script(
        Answer(status=429, body={}, headers={"X-Ratelimit-Reset": str(reset)}),
        Answer(body=PAGE),
    )

    list_page(client)

    assert 1.0 < waits[0] <= 2.0


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_with_growing_jittered_waits(server, client, waits, status):
    server.script(Answer(status=status), Answer(status=status), Answer(body=PAGE))

    assert list_page(client) == PAGE
    assert len(server.received) == 3
    assert len(waits) == 2 and all(0 <= wait <= 0.05 for wait in waits)


def test_retries_stop_at_the_attempt_limit(server, client):
    server.script(Answer(status=503, body={"message": "down"}))

    with pytest.raises(UpstreamUnavailable) as raised:
        list_page(client)

    assert len(server.received) == 4
    assert "503" in raised.value.message


def test_a_500_is_not_retried(server, client):
    server.script(Answer(status=500, body={"message": "bug"}))

    with pytest.raises(UpstreamUnavailable):
        list_page(client)

    assert len(server.received) == 1


def test_rate_limit_past_the_budget_is_reported_with_the_wait(server, client):
    server.script(Answer(status=429, body={}, headers={"Retry-After": "60"}))

    with pytest.raises(UpstreamRateLimited) as raised:
        list_page(client)

    assert raised.value.retry_after == 60
    assert len(server.received) == 1


def test_a_slow_read_times_out_and_is_retried(server, client):
    server.script(Answer(body=PAGE, delay=1.0), Answer(body=PAGE))

    assert list_page(client) == PAGE
    assert len(server.received) == 2


def test_a_dropped_connection_is_retried_for_reads(server, client):
    server.script(Answer(drop=True), Answer(body=PAGE))

    assert list_page(client) == PAGE
    assert len(server.received) == 2


def test_a_refused_connection_is_unavailable(client):
    client.base_url = "http://127.0.0.1:9"  # the discard port: nothing listens

    with pytest.raises(UpstreamUnavailable) as raised:
        list_page(client)

    assert "127.0.0.1:9" in raised.value.message


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(body="{not json"), "not valid JSON"),
        (Answer(body="<html>login</html>", content_type="text/html"), "text/html"),
    ],
)
def test_bodies_that_are_not_json_are_unavailable_not_crashes(server, client, answer, reason):
    server.script(answer)

    with pytest.raises(UpstreamUnavailable) as raised:
        list_page(client)

    assert reason in raised.value.message
    assert len(server.received) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_loud_and_never_show_the_token(server, client, caplog, status):
    server.script(
        Answer(status=status, body={"code": "unauthorized", "message": "Invalid access token"})
    )

    with caplog.at_level(logging.ERROR), pytest.raises(UpstreamAuthFailed) as raised:
        list_page(client)

    assert "Invalid access token" in raised.value.message
    assert "refused the API token" in caplog.text
    assert TOKEN not in caplog.text and TOKEN not in raised.value.message
    assert TOKEN not in repr(client)
    assert len(server.received) == 1


def test_not_found(server, client):
    server.script(
        Answer(status=404, body={"code": "not_found", "message": "Invalid resource identifier"})
    )

    with pytest.raises(UpstreamNotFound):
        client.get_deployment(DEPLOYMENT["id"])


@pytest.mark.parametrize("status", [400, 409, 422])
def test_rejections_carry_launchdarklys_code_and_errors(server, client, status):
    errors = [{"attribute": "/status", "reason": "must be a string"}]
    server.script(
        Answer(status=status, body={"code": "invalid_request", "message": "bad", "errors": errors})
    )

    with pytest.raises(UpstreamRejected) as raised:
        client.patch_deployment(
            DEPLOYMENT["id"], [{"op": "replace", "path": "/status", "value": 1}]
        )

    assert (raised.value.status, raised.value.code, raised.value.errors) == (
        status,
        "invalid_request",
        errors,
    )
    assert len(server.received) == 1  # a PATCH is never retried


def test_patch_sends_the_comment_envelope(server, client):
    server.script(Answer(body={**DEPLOYMENT, "status": "finished"}))
    patch = [{"op": "replace", "path": "/status", "value": "finished"}]

    result = client.patch_deployment(DEPLOYMENT["id"], patch, comment="pipeline hung")

    assert result["status"] == "finished"
    request = server.received[0]
    assert (request.method, request.path) == ("PATCH", DETAIL)
    assert json.loads(request.body) == {"comment": "pipeline hung", "patch": patch}


def test_a_patch_that_times_out_after_being_applied_is_reported_as_landed(server, client):
    patch = [{"op": "replace", "path": "/status", "value": "finished"}]
    server.script(
        Answer(body={**DEPLOYMENT, "status": "finished"}, delay=1.0),  # applied, answer too late
        Answer(body={**DEPLOYMENT, "status": "finished"}),  # the re-read
    )

    with pytest.raises(UpstreamPatchUncertain) as raised:
        client.patch_deployment(DEPLOYMENT["id"], patch)

    assert raised.value.landed is True
    assert raised.value.document["status"] == "finished"
    assert [r.method for r in server.received] == ["PATCH", "GET"]


def test_a_patch_whose_connection_drops_before_applying_is_reported_as_not_landed(server, client):
    patch = [{"op": "replace", "path": "/status", "value": "finished"}]
    server.script(Answer(drop=True), Answer(body=DEPLOYMENT))

    with pytest.raises(UpstreamPatchUncertain) as raised:
        client.patch_deployment(DEPLOYMENT["id"], patch)

    assert raised.value.landed is False
    assert "was not applied" in raised.value.message
    assert [r.method for r in server.received] == ["PATCH", "GET"]


def test_pages_are_followed_by_their_next_links(server, client):
    second = {"totalCount": 2, "items": [{"id": "b"}], "_links": {}}
    first = {
        "totalCount": 2,
        "items": [{"id": "a"}],
        "_links": {
            "next": {
                "href": "/api/v2/engineering-insights/deployments?after=a&limit=100",
                "type": "application/json",
            }
        },
    }
    server.script(Answer(body=first), Answer(body=second))

    pages = list(
        client.iter_deployment_pages(project_key="p", environment_key="e", from_ms=0, to_ms=10)
    )

    assert [page["items"][0]["id"] for page in pages] == ["a", "b"]
    assert server.received[1].query["after"] == ["a"]


def test_a_next_link_to_another_host_is_not_followed(server, client):
    first = {"totalCount": 2, "items": [], "_links": {"next": {"href": "http://evil.example/x"}}}
    server.script(Answer(body=first))

    with pytest.raises(UpstreamUnavailable) as raised:
        list(client.iter_deployment_pages(project_key="p", environment_key="e", from_ms=0, to_ms=1))

    assert "another host" in raised.value.message
    assert len(server.received) == 1


@pytest.mark.parametrize(
    ("document", "landed"),
    [
        ({"status": "finished", "metadata": {}}, True),
        ({"status": "started", "metadata": {}}, False),
        ({"status": "finished", "metadata": {"gone": 1}}, False),
    ],
)
def test_patch_has_landed(document, landed):
    patch = [
        {"op": "test", "path": "/status", "value": "started"},
        {"op": "replace", "path": "/status", "value": "finished"},
        {"op": "remove", "path": "/metadata/gone"},
    ]

    assert patch_has_landed(document, patch) is landed
