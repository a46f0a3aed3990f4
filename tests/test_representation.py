import copy

import pytest

from deployments import cache
from deployments.models import Deployment
from deployments.queries import deployment_document_by_id
from deployments.representation import (
    RepresentationError,
    deployment_rep,
    from_millis,
    parse_deployment,
    to_millis,
)
from tests.schema import assert_valid

BOTH = {"pullRequests", "flagReferences"}
OPTIONAL = ("pullRequests", "flagReferences", "endedAt", "durationMs", "metadata", "leadTimeStages")


def expected_export(example):
    """The example as this server gives it back: totalCounts recomputed, nested
    `deployments` and `_links` of pull requests left out (see the issue)."""
    expected = copy.deepcopy(example)
    expected["pullRequests"].pop("_links", None)
    for item in expected["pullRequests"]["items"]:
        item.pop("deployments", None)
        if "flagReferences" in item:
            item["flagReferences"]["totalCount"] = len(item["flagReferences"]["items"])
    for name in ("pullRequests", "flagReferences"):
        expected[name]["totalCount"] = len(expected[name]["items"])
    return expected


@pytest.mark.django_db
def test_example_round_trips_through_the_cache(example_deployment):
    graph = parse_deployment(example_deployment, project_key="default")
    cache.cache_graphs([graph])

    exported = deployment_document_by_id(example_deployment["id"], expand=BOTH)

    assert exported == expected_export(example_deployment)
    assert Deployment.objects.get().project_key == "default"


@pytest.mark.django_db
def test_instance_and_row_paths_give_the_same_document(example_deployment):
    cache.cache_graphs([parse_deployment(example_deployment, project_key="default")])
    instance = Deployment.objects.get()

    for expand in (set(), {"pullRequests"}, {"flagReferences"}, BOTH):
        assert deployment_rep(instance, expand=expand) == deployment_document_by_id(
            instance.id, expand=expand
        )


@pytest.mark.django_db
def test_exported_documents_validate_against_launchdarkly_schema(example_deployment):
    cache.cache_graphs([parse_deployment(example_deployment, project_key="default")])
    assert_valid(deployment_document_by_id(example_deployment["id"], expand=BOTH), "DeploymentRep")
    assert_valid(deployment_document_by_id(example_deployment["id"]), "DeploymentRep")


@pytest.mark.django_db
def test_unexpanded_export_leaves_out_collections_but_keeps_stages(example_deployment):
    cache.cache_graphs([parse_deployment(example_deployment, project_key="default")])
    exported = deployment_rep(Deployment.objects.get())

    assert "pullRequests" not in exported and "flagReferences" not in exported
    assert exported["leadTimeStages"] == example_deployment["leadTimeStages"]


@pytest.mark.django_db
def test_reimport_without_expansions_keeps_cached_pull_requests(example_deployment):
    cache.cache_graphs([parse_deployment(example_deployment, project_key="default")])
    bare = {k: v for k, v in example_deployment.items() if k not in BOTH}
    bare["status"] = "failed"

    result = cache.cache_graphs([parse_deployment(bare, project_key="default")])

    stored = Deployment.objects.get()
    assert (result.created, result.updated) == (0, 1)
    assert stored.status == "failed"
    assert stored.pull_request_links.count() == 1
    assert stored.flag_references.count() == 1


def test_optional_fields_absent_stay_absent(example_deployment):
    bare = {k: v for k, v in example_deployment.items() if k not in OPTIONAL}
    graph = parse_deployment(bare, project_key="p")

    assert deployment_rep(graph.deployment) == bare


@pytest.mark.parametrize(
    ("change", "attribute", "reason"),
    [
        ({"startedAt": "1706701522000"}, "startedAt", "must be an integer of epoch milliseconds"),
        ({"startedAt": -1}, "startedAt", "between 1970 and 9999"),
        ({"active": 1}, "active", "must be true or false"),
        ({"linesAdded": True}, "linesAdded", "must be an integer"),
        ({"linesAdded": 1.5}, "linesAdded", "must be an integer"),
        ({"id": "not-a-uuid"}, "id", "must be a UUID"),
        ({"applicationKey": None}, "applicationKey", "is required"),
        ({"metadata": ["a"]}, "metadata", "must be a JSON object"),
        ({"endedAt": 1706701521999}, "endedAt", "must not be before startedAt"),
        ({"applicationVersion": "a\x00b"}, "applicationVersion", "NUL"),
        ({"applicationVersion": "a\ud800b"}, "applicationVersion", "lone surrogates"),
        ({"applicationKey": "k" * 257}, "applicationKey", "at most 256 characters"),
        ({"numberOfContributors": 2**31}, "numberOfContributors", "must be between"),
        ({"leadTime": 2**63}, "leadTime", "must be between"),
        ({"metadata": {"a": "\x00"}}, "metadata", "NUL"),
    ],
)
def test_bad_fields_are_named(example_deployment, change, attribute, reason):
    document = {**example_deployment, **change}

    with pytest.raises(RepresentationError) as raised:
        parse_deployment(document, project_key="p", where="items[4]")

    assert [(e.attribute, reason in e.reason) for e in raised.value.errors] == [
        (f"items[4].{attribute}", True)
    ]


def test_nested_errors_name_their_path(example_deployment):
    document = copy.deepcopy(example_deployment)
    document["pullRequests"]["items"][0]["createTime"] = "yesterday"
    document["flagReferences"]["items"][0]["referencesAdded"] = "2"

    with pytest.raises(RepresentationError) as raised:
        parse_deployment(document, project_key="p")

    assert {e.attribute for e in raised.value.errors} == {
        "pullRequests.items[0].createTime",
        "flagReferences.items[0].referencesAdded",
    }


@pytest.mark.parametrize("millis", [0, 1, 999, 1706701522123, 253402300799999])
def test_millis_round_trip_exactly(millis):
    assert to_millis(from_millis(millis)) == millis
