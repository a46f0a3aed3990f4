"""Request bodies the JSON parser must refuse cleanly: each a LaunchDarkly-shaped 4xx
that changes nothing, never a 500 or an HTML page (see TOOLING.md for what DRF's own
parser does with each)."""

import json

import pytest

from deployments.api.parsers import MAX_BODY_BYTES
from deployments.models import Change
from deployments.representation import deployment_rep

URL = "/api/v2/engineering-insights/deployments"


@pytest.fixture
def deployment(make_deployment):
    return make_deployment()


def patch_raw(api, deployment, raw: bytes, content_type="application/json"):
    return api.patch(f"{URL}/{deployment.id}", raw=raw, content_type=content_type)


def assert_unchanged(deployment, before):
    deployment.refresh_from_db()
    assert deployment_rep(deployment) == before
    assert not Change.objects.filter(outcome=Change.Outcome.APPLIED).exists()


def test_a_body_over_one_mebibyte_is_refused_before_it_is_parsed(api, deployment):
    before = deployment_rep(deployment)
    value = "x" * MAX_BODY_BYTES
    raw = json.dumps([{"op": "add", "path": "/metadata/big", "value": value}]).encode()

    response = patch_raw(api, deployment, raw)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert_unchanged(deployment, before)


def test_a_body_nested_a_thousand_deep_is_a_400_not_a_500(api, deployment):
    before = deployment_rep(deployment)
    raw = ("[" * 1000 + "]" * 1000).encode()

    response = patch_raw(api, deployment, raw)

    assert response.status_code == 400
    assert_unchanged(deployment, before)


def test_repeated_keys_are_refused_and_named(api, deployment):
    before = deployment_rep(deployment)
    raw = b'[{"op": "replace", "path": "/status", "path": "/kind", "value": "x"}]'

    response = patch_raw(api, deployment, raw)

    assert response.status_code == 400
    assert 'the key "path" appears twice' in response.json()["errors"][0]["reason"]
    assert_unchanged(deployment, before)


@pytest.mark.parametrize("raw", [b"[1, NaN]", b'{"a": Infinity}', b"[1e999]"])
def test_numbers_json_does_not_have_are_refused(api, deployment, raw):
    response = patch_raw(api, deployment, raw)

    assert response.status_code == 400
    assert response.json()["errors"][0]["attribute"] == "body"


@pytest.mark.parametrize("text", ["nul \\u0000 inside", "lone \\ud800 surrogate"])
def test_strings_postgresql_cannot_store_are_refused(api, deployment, text):
    before = deployment_rep(deployment)
    raw = f'[{{"op": "add", "path": "/metadata/note", "value": "{text}"}}]'.encode()

    response = patch_raw(api, deployment, raw)

    assert response.status_code == 400
    assert response.json()["errors"][0]["attribute"] == "/metadata/note"
    assert_unchanged(deployment, before)


@pytest.mark.parametrize("raw", [b"", b"not json", b"\xff\xfe\x00"])
def test_a_body_that_is_not_json_is_a_400(api, deployment, raw):
    response = patch_raw(api, deployment, raw)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_an_unsupported_media_type_is_a_json_415(api, deployment):
    response = patch_raw(api, deployment, b"op=replace", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_oversized_event_bodies_are_refused_too(api):
    raw = json.dumps({"projectKey": "p" * MAX_BODY_BYTES}).encode()

    response = api.post("/api/v2/engineering-insights/deployment-events", raw=raw)

    assert response.status_code == 413
