"""This server's own OpenAPI description names what LaunchDarkly's spec names."""

from django.test import Client

from tests.reference import load_reference


def test_paths_parameters_and_token_scheme_match_launchdarkly(db):
    ours = Client().get("/api/v2/openapi.json").json()
    theirs = load_reference("openapi-deployments.json")

    assert set(ours["paths"]) == set(theirs["paths"])
    for path, operations in theirs["paths"].items():
        for method, operation in operations.items():
            mine = ours["paths"][path][method]
            assert mine["operationId"] == operation["operationId"]
            names = {p["name"] for p in mine.get("parameters", [])}
            assert {p["name"] for p in operation.get("parameters", [])} <= names
    assert ours["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
    }
