"""API test fixtures: tokens, and a client that validates every response it gets.

Every response the API tests see is checked against LaunchDarkly's OpenAPI description
(`../shared/upstream/openapi-deployments.json`): the schema of the operation's status
when the spec names one, and LaunchDarkly's `{code, message}` error shape otherwise.
"""

import json
import re

import pytest
from django.test import Client

from deployments.models import ApiToken
from deployments.tokens import api_token_create
from tests.reference import load_reference
from tests.schema import assert_valid

SPEC_PATHS = {
    "/api/v2/engineering-insights/deployments": "/api/v2/engineering-insights/deployments",
    "/api/v2/engineering-insights/deployment-events": (
        "/api/v2/engineering-insights/deployment-events"
    ),
}
DETAIL_PATH = re.compile(r"^/api/v2/engineering-insights/deployments/[^/]+$")
ERROR_SCHEMA = {
    "401": "UnauthorizedErrorRep",
    "403": "ForbiddenErrorRep",
    "404": "NotFoundErrorRep",
}


def spec_operation(spec, path, method):
    if path in SPEC_PATHS:
        template = SPEC_PATHS[path]
    elif DETAIL_PATH.match(path):
        template = "/api/v2/engineering-insights/deployments/{deploymentID}"
    else:
        return None
    return spec["paths"].get(template, {}).get(method.lower())


def assert_launchdarkly_response(response, path, method):
    """Fails unless the response is what LaunchDarkly's spec allows for this call."""
    spec = load_reference("openapi-deployments.json")
    status = str(response.status_code)
    operation = spec_operation(spec, path, method)
    if response.status_code == 201 and not response.content:
        return  # deployment-events: "201 Created", no body in the spec
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    declared = (operation or {}).get("responses", {}).get(status)
    schema_ref = (
        (declared or {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("$ref")
    )
    if schema_ref:
        assert_valid(body, schema_ref.rsplit("/", 1)[-1])
    elif response.status_code >= 400:
        # Statuses the spec does not list (405, 409, 413, 415, 422, 5xx): LaunchDarkly's
        # error shape all the same.
        assert_valid(body, ERROR_SCHEMA.get(status, "NotFoundErrorRep"))
    else:
        raise AssertionError(f"{method} {path} answered {status}, which the spec does not allow")
    if response.status_code == 400:
        assert_valid(body, "ValidationFailedErrorRep")


class LaunchDarklyClient:
    """Django's test client, speaking as a LaunchDarkly API client, checking answers."""

    def __init__(self, client: Client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        merged = {"LD-API-Version": "beta"}
        if self.token is not None:
            merged["Authorization"] = self.token
        merged.update(headers or {})
        return merged

    def request(
        self,
        method,
        path,
        *,
        params=None,
        body=None,
        content_type="application/json",
        headers=None,
        raw=None,
    ):
        if method == "GET":
            response = self.client.get(path, params or {}, headers=self._headers(headers))
        else:
            data = raw if raw is not None else json.dumps(body)
            response = self.client.generic(
                method, path, data, content_type=content_type, headers=self._headers(headers)
            )
        assert_launchdarkly_response(response, path, method)
        return response

    def get(self, path, params=None, **kwargs):
        return self.request("GET", path, params=params, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.request("PATCH", path, body=body, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body=body, **kwargs)


def issue_token(role, **owner):
    if not owner:
        owner = {"service_name": "ci-pipeline"}
    return api_token_create(name=f"{role} token", role=role, **owner).raw


@pytest.fixture
def writer_token(db):
    return issue_token(ApiToken.Role.WRITER)


@pytest.fixture
def reader_token(db):
    return issue_token(ApiToken.Role.READER)


@pytest.fixture
def api(writer_token):
    """A writer's client; every response is validated against LaunchDarkly's spec."""
    return LaunchDarklyClient(Client(), writer_token)


@pytest.fixture
def reader_api(reader_token):
    return LaunchDarklyClient(Client(), reader_token)


@pytest.fixture
def anonymous_api(db):
    return LaunchDarklyClient(Client(), None)
