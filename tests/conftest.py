import pytest

from tests.reference import load_reference


@pytest.fixture(scope="session")
def upstream_spec():
    """LaunchDarkly's OpenAPI document for the deployment endpoints (reference data)."""
    return load_reference("openapi-deployments.json")


@pytest.fixture(scope="session")
def example_deployment():
    """LaunchDarkly's documented response for one expanded deployment."""
    return load_reference("example-deployment.json")
