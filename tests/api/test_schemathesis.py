"""Schemathesis drives the API with requests generated from LaunchDarkly's own spec.

Positive and negative cases for every operation, through the WSGI app in-process (so
the test database is the one the requests see). Each response must: not be a 5xx,
match the spec's schema for its status and content type, reject invalid input with a
4xx, and, when it is an error, leave the deployment data exactly as it was.

The spec's status lists leave out 405, 409, 413, 415 and 422, which this API (like
LaunchDarkly's) does answer, so `status_code_conformance` is not among the checks;
those bodies are still checked for LaunchDarkly's error shape below.
"""

import hashlib
import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from dashboard.wsgi import application
from deployments.models import Deployment, DeploymentPullRequest, FlagReference
from tests.reference import reference_dir
from tests.schema import assert_valid

SPEC = reference_dir() / "openapi-deployments.json"
if not SPEC.exists():
    pytest.skip(
        f"LaunchDarkly's spec is missing at {SPEC}: set LAUNCHDARKLY_REFERENCE_DIR",
        allow_module_level=True,
    )

schema = schemathesis.openapi.from_path(SPEC)
schema.app = application

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]


def data_fingerprint() -> str:
    """A digest of every cached deployment with its pull-request links and flags."""
    rows = [
        list(Deployment.objects.order_by("id").values_list()),
        list(DeploymentPullRequest.objects.order_by("id").values_list()),
        list(FlagReference.objects.order_by("id").values_list()),
    ]
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()


@pytest.fixture
def connection_kept_open():
    """Requests go through the WSGI app, which closes the database connection when a
    request starts and ends; that would end the test's transaction. Django's test client stops it
    the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def cached_deployments(make_deployment):
    return [make_deployment(status=status) for status in ("started", "finished", "failed")]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_launchdarkly_spec(
    case, writer_token, cached_deployments, connection_kept_open
):
    before = data_fingerprint()

    response = case.call(headers={"Authorization": writer_token})

    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        assert_valid(response.json(), "NotFoundErrorRep")  # LaunchDarkly's {code, message}
        assert data_fingerprint() == before, f"{response.status_code} but data changed"
