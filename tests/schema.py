"""Validates documents against the schemas in LaunchDarkly's OpenAPI description."""

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.reference import load_reference


def validator_for(schema_name: str) -> OAS30Validator:
    spec = load_reference("openapi-deployments.json")
    resource = Resource(contents=spec, specification=DRAFT4)
    registry = Registry().with_resource("spec.json", resource)
    return OAS30Validator(
        {"$ref": f"spec.json#/components/schemas/{schema_name}"},
        registry=registry,
        format_checker=OAS30Validator.FORMAT_CHECKER,
    )


def assert_valid(document, schema_name: str) -> None:
    """Fails with every violation, each with its JSON path."""
    errors = sorted(validator_for(schema_name).iter_errors(document), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)
