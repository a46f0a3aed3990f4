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


@pytest.fixture
def make_deployment(example_deployment, db):
    """Caches a copy of LaunchDarkly's example deployment under a new id.

    Keyword arguments override top-level fields of the document (camelCase).
    """
    import copy
    import uuid

    from deployments.cache import cache_graphs
    from deployments.models import Deployment
    from deployments.representation import parse_deployment

    def make(project_key="default", **overrides):
        document = copy.deepcopy(example_deployment)
        document["id"] = str(uuid.uuid4())
        # The example's pull request shares the deployment's id; give it its own.
        for item in document.get("pullRequests", {}).get("items", []):
            item["id"] = str(uuid.uuid4())
        document.update(overrides)
        cache_graphs([parse_deployment(document, project_key=project_key)])
        return Deployment.objects.get(id=document["id"])

    return make
