import copy
import io
import json
import sys
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deployments.models import Deployment, DeploymentPullRequest, FlagReference, PullRequest
from deployments.transfer import deployments_export
from tests.schema import assert_valid

pytestmark = pytest.mark.django_db

START = 1706701522000
HOUR = 3_600_000


def deployment_document(example, **changes):
    """The example with fresh ids for the deployment and its pull request, then `changes`
    (a new `startedAt` moves `endedAt` along, keeping the duration)."""
    document = copy.deepcopy(example)
    document["id"] = str(uuid.uuid4())
    document["pullRequests"]["items"][0]["id"] = str(uuid.uuid4())
    if isinstance(changes.get("startedAt"), int) and "endedAt" not in changes:
        document["endedAt"] = changes["startedAt"] + document["durationMs"]
    document.update(changes)
    return document


def collection(items):
    return {"totalCount": len(items), "items": items}


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def run_import(*files, project="default"):
    out = io.StringIO()
    call_command("import_deployments", *map(str, files), project=project, stdout=out)
    return out.getvalue()


def failed_import(*files, project="default"):
    """Runs an import that must fail; returns what it told the user."""
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_deployments",
            *map(str, files),
            project=project,
            stdout=io.StringIO(),
            stderr=err,
        )
    return err.getvalue() + str(raised.value)


def run_export(**options):
    out = io.StringIO()
    call_command("export_deployments", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def exported_items(**options):
    return json.loads(run_export(**options))["items"]


def wipe():
    Deployment.objects.all().delete()
    PullRequest.objects.all().delete()


def variety(example):
    """Deployments that exercise every optional part of the representation."""
    bare = deployment_document(example, startedAt=START + 5 * HOUR, status="started")
    for key in ("endedAt", "durationMs", "metadata", "leadTimeStages", "flagReferences"):
        bare.pop(key)
    bare["pullRequests"] = collection([])

    plain_pull_request = deployment_document(
        example, startedAt=START + 4 * HOUR, applicationKey="checkout", kind="rollback"
    )
    pull_request = plain_pull_request["pullRequests"]["items"][0]
    for key in ("leadTime", "flagReferences", "mergeTime", "mergeCommitKey", "deployments"):
        pull_request.pop(key)
    pull_request["title"] = "Fix ünicode “quotes” and \\ backslashes"
    plain_pull_request["metadata"] = {"nested": {"list": [1, 2.5, None, True]}, "é": "ü"}

    # Two deployments started at the same instant: order falls back to id, descending.
    tie_a = deployment_document(example, startedAt=START + 3 * HOUR, environmentKey="staging")
    tie_b = deployment_document(example, startedAt=START + 3 * HOUR, environmentKey="staging")
    # One pull request shipped to two environments, with its lead time in each.
    shared = copy.deepcopy(tie_a["pullRequests"]["items"][0])
    later = deployment_document(example, startedAt=START + 6 * HOUR)
    later["pullRequests"]["items"] = [copy.deepcopy(shared), tie_b["pullRequests"]["items"][0]]
    later["pullRequests"]["items"][0]["leadTime"]["codingDurationMs"] = 42
    later["flagReferences"]["items"].append(
        {
            "projectKey": "other",
            "flagKey": "dark-mode",
            "referencesAdded": 0,
            "referencesRemoved": 3,
        }
    )
    return [bare, plain_pull_request, tie_a, tie_b, later]


def items_by_start(document):
    """Items latest first, as the export orders them."""
    return sorted(document["items"], key=lambda item: item["startedAt"], reverse=True)


def expected_item(example):
    """The example as the export gives it back: nested pull-request `deployments` and
    `_links` are not part of what is stored, and totalCounts count the items."""
    expected = copy.deepcopy(example)
    expected["pullRequests"].pop("_links")
    for item in expected["pullRequests"]["items"]:
        item.pop("deployments")
        item["flagReferences"]["totalCount"] = len(item["flagReferences"]["items"])
    for name in ("pullRequests", "flagReferences"):
        expected[name]["totalCount"] = len(expected[name]["items"])
    return expected


# ---------------------------------------------------------------------------
# Round trips


def test_example_file_round_trips_through_import_and_export(example_deployment, tmp_path):
    source = write_json(tmp_path / "example.json", example_deployment)

    output = run_import(source)
    first = run_export()

    assert output == f"{source}: 1 deployment (1 created, 0 updated)\n"
    document = json.loads(first)
    assert_valid(document, "DeploymentCollectionRep")
    assert document == {"totalCount": 1, "items": [expected_item(example_deployment)]}

    wipe()
    run_import(write_json(tmp_path / "export.json", document))
    assert run_export() == first


def test_export_reimports_to_identical_rows_byte_for_byte(example_deployment, tmp_path):
    run_import(write_json(tmp_path / "seed.json", collection(variety(example_deployment))))
    exported = tmp_path / "export.json"
    call_command("export_deployments", output=str(exported), stdout=io.StringIO())
    first = exported.read_text()

    wipe()
    assert Deployment.objects.count() == 0
    run_import(exported)

    assert run_export() == first
    document = json.loads(first)
    assert_valid(document, "DeploymentCollectionRep")
    for item in document["items"]:
        assert_valid(item, "DeploymentRep")
        assert {"pullRequests", "flagReferences"} <= item.keys()
    # Two of the three pull requests shipped twice, each time with its own lead time.
    assert (Deployment.objects.count(), PullRequest.objects.count()) == (5, 3)
    assert DeploymentPullRequest.objects.count() == 5
    assert sorted(
        DeploymentPullRequest.objects.filter(
            pull_request_id=items_by_start(document)[0]["pullRequests"]["items"][0]["id"]
        ).values_list("coding_duration_ms", flat=True)
    ) == [42, 1000000]


def test_export_orders_newest_first_then_id_descending(example_deployment, tmp_path):
    documents = variety(example_deployment)
    run_import(write_json(tmp_path / "seed.json", documents))

    items = exported_items()

    expected = sorted(
        documents, key=lambda d: (d["startedAt"], uuid.UUID(d["id"]).int), reverse=True
    )
    assert [item["id"] for item in items] == [d["id"] for d in expected]


def test_every_accepted_shape_imports_the_same_deployments(example_deployment, tmp_path):
    first, second = variety(example_deployment)[:2]
    shapes = {
        "collection": collection([first, second]),
        "list-of-collections": [collection([first]), collection([second])],
        "list-of-deployments": [first, second],
    }
    exports = set()
    for name, data in shapes.items():
        wipe()
        run_import(write_json(tmp_path / f"{name}.json", data))
        exports.add(run_export())

    wipe()
    run_import(write_json(tmp_path / "one.json", first), write_json(tmp_path / "two.json", second))
    exports.add(run_export())

    assert len(exports) == 1
    assert len(json.loads(exports.pop())["items"]) == 2


def test_stdin_is_read_for_a_dash(example_deployment, monkeypatch):
    content = json.dumps(collection(variety(example_deployment)[:3])).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(content)))

    output = run_import("-", project="web")

    assert output == "<stdin>: 3 deployments (3 created, 0 updated)\n"
    assert set(Deployment.objects.values_list("project_key", flat=True)) == {"web"}


# ---------------------------------------------------------------------------
# Idempotency and all or nothing


def test_importing_a_file_twice_updates_the_same_rows(example_deployment, tmp_path):
    source = write_json(tmp_path / "export.json", collection(variety(example_deployment)))

    first_output = run_import(source)
    first = run_export()
    rows = [model.objects.count() for model in (Deployment, PullRequest, FlagReference)]
    second_output = run_import(source)

    assert first_output == f"{source}: 5 deployments (5 created, 0 updated)\n"
    assert second_output == f"{source}: 5 deployments (0 created, 5 updated)\n"
    assert run_export() == first
    assert [model.objects.count() for model in (Deployment, PullRequest, FlagReference)] == rows


def test_a_bad_third_item_leaves_the_database_exactly_as_it_was(example_deployment, tmp_path):
    existing = variety(example_deployment)
    run_import(write_json(tmp_path / "seed.json", collection(existing)))
    before = run_export()

    changed = [
        {**existing[0], "status": "failed"},
        {**existing[1], "archived": True},
        {**existing[2], "startedAt": "soon"},
        deployment_document(example_deployment),
    ]
    message = failed_import(write_json(tmp_path / "update.json", collection(changed)))

    assert "update.json: items[2].startedAt: must be an integer of epoch milliseconds" in message
    assert run_export() == before


def test_one_bad_file_does_not_stop_the_good_ones(example_deployment, tmp_path):
    good = write_json(tmp_path / "good.json", collection(variety(example_deployment)[:2]))
    bad = tmp_path / "bad.json"
    bad.write_text("{")

    err = io.StringIO()
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"not imported .*: .*bad\.json$"):
        call_command("import_deployments", str(bad), str(good), stdout=out, stderr=err)

    assert out.getvalue() == f"{good}: 2 deployments (2 created, 0 updated)\n"
    assert err.getvalue().startswith(f"{bad}: not valid JSON: line 1 column 2")
    assert Deployment.objects.count() == 2


def test_a_deployment_of_another_project_is_not_moved(example_deployment, tmp_path):
    documents = variety(example_deployment)[:2]
    run_import(write_json(tmp_path / "web.json", documents[:1]), project="web")
    source = write_json(tmp_path / "api.json", collection(documents))

    message = failed_import(source, project="api")

    assert f"items[0].id: deployment {documents[0]['id']} belongs to project 'web'" in message
    assert list(Deployment.objects.values_list("project_key", flat=True)) == ["web"]


# ---------------------------------------------------------------------------
# Bad files: every message names the file, the item and the field


DELETE = object()


def set_path(document, path, value):
    *parents, last = path
    for key in parents:
        document = document[key]
    if value is DELETE:
        del document[last]
    else:
        document[last] = value


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["linesAdded"], "100", "items[1].linesAdded: must be an integer"),
        (["environmentKey"], DELETE, "items[1].environmentKey: is required"),
        (["applicationKey"], None, "items[1].applicationKey: is required"),
        (
            ["startedAt"],
            "1706701522000",
            "items[1].startedAt: must be an integer of epoch milliseconds",
        ),
        (["numberOfContributors"], True, "items[1].numberOfContributors: must be an integer"),
        (["active"], 1, "items[1].active: must be true or false"),
        (["id"], "a0eebc99", "items[1].id: must be a UUID"),
        (
            ["pullRequests", "items", 0, "createTime"],
            "2024-01-31",
            "items[1].pullRequests.items[0].createTime: must be an integer of epoch milliseconds",
        ),
        (
            ["pullRequests", "items", 0, "leadTime", "codingDurationMs"],
            1.5,
            "items[1].pullRequests.items[0].leadTime.codingDurationMs: must be an integer",
        ),
        (
            ["flagReferences", "items", 0, "flagKey"],
            7,
            "items[1].flagReferences.items[0].flagKey: must be a string",
        ),
        (["pullRequests"], [], "items[1].pullRequests: must be an object with totalCount"),
    ],
)
def test_a_bad_field_is_named_with_its_item(example_deployment, tmp_path, path, value, expected):
    documents = [deployment_document(example_deployment) for _ in range(3)]
    set_path(documents[1], path, value)

    message = failed_import(write_json(tmp_path / "export.json", collection(documents)))

    assert f"export.json: {expected}" in message
    assert Deployment.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"items": [\n  {"id": "a"}\n  {"id": "b"}]}', "not valid JSON: line 3 column 3"),
        ("", "not valid JSON: line 1 column 1 (Expecting value)"),
        ('{"items": [], "totalCount": NaN}', "not valid JSON: NaN is not a JSON number"),
        ('[{"linesAdded": -Infinity}]', "not valid JSON: -Infinity is not a JSON number"),
        ('[{"metadata": {"size": 1e999}}]', "not valid JSON: the number 1e999 is too large"),
        (
            '[{"id": "x", "startedAt": 1, "startedAt": 2}]',
            'not valid JSON: the key "startedAt" appears twice in the object with id "x"',
        ),
        ('{"items": {"id": "x"}}', "items: must be a list"),
        ('[{"a": {"b": 1, "b": 1}}]', 'not valid JSON: the key "b" appears twice in one object'),
        ('[{"items": 3}]', "[0].items: must be a list"),
        ("42", "(document): must be a deployment collection, a list, or a deployment"),
        ('["x"]', "[0]: must be a JSON object"),
    ],
)
def test_a_file_that_is_not_launchdarkly_json_is_refused(tmp_path, content, expected):
    source = tmp_path / "export.json"
    source.write_text(content)

    assert f"export.json: {expected}" in failed_import(source)


def test_not_json_reports_line_column_and_reason(tmp_path):
    source = tmp_path / "export.json"
    source.write_text('{\n  "items": [\n    {}\n  "totalCount": 0\n}')

    message = failed_import(source)

    assert f"{source}: not valid JSON: line 4 column 3 (Expecting ',' delimiter)" in message


def test_a_single_deployment_names_its_fields_without_an_item(example_deployment, tmp_path):
    document = deployment_document(example_deployment, leadTime="fast")

    message = failed_import(write_json(tmp_path / "one.json", document))

    assert "one.json: leadTime: must be an integer" in message


def test_duplicate_ids_name_both_positions(example_deployment, tmp_path):
    documents = [deployment_document(example_deployment) for _ in range(4)]
    documents[3]["id"] = documents[1]["id"]

    message = failed_import(write_json(tmp_path / "export.json", collection(documents)))

    assert "export.json: items[3].id: repeats the id of items[1]" in message
    assert Deployment.objects.count() == 0


def test_a_missing_file_is_named(tmp_path):
    message = failed_import(tmp_path / "nowhere.json")

    assert f"{tmp_path / 'nowhere.json'}: cannot read the file: No such file or directory" in (
        message
    )


@pytest.mark.parametrize("data", [[], {"totalCount": 0, "items": []}])
def test_an_empty_file_imports_nothing_and_says_so(tmp_path, data):
    source = write_json(tmp_path / "empty.json", data)

    assert run_import(source) == f"{source}: no deployments in the file, nothing imported\n"
    assert Deployment.objects.count() == 0


def test_errors_beyond_twenty_are_counted_not_listed(example_deployment, tmp_path):
    documents = [deployment_document(example_deployment, kind=1) for _ in range(25)]

    message = failed_import(write_json(tmp_path / "export.json", collection(documents)))

    listed = [line for line in message.splitlines() if ".kind: must be a string" in line]
    assert len(listed) == 20
    assert "export.json: and 5 more" in message


def test_an_integer_beyond_its_column_is_named_and_nothing_is_written(example_deployment, tmp_path):
    run_import(write_json(tmp_path / "seed.json", variety(example_deployment)[:2]))
    before = run_export()
    documents = [deployment_document(example_deployment) for _ in range(3)]
    # Valid JSON and a valid integer, but beyond what the column (and LaunchDarkly's
    # 32-bit "integer") holds.
    documents[2]["pullRequests"]["items"][0]["linesAdded"] = 2**31

    message = failed_import(write_json(tmp_path / "export.json", documents))

    assert "export.json: [2].pullRequests.items[0].linesAdded: must be between" in message
    assert run_export() == before


# ---------------------------------------------------------------------------
# Export


def test_export_filters_by_project_environment_and_application(example_deployment, tmp_path):
    def seed(project, environment, application):
        document = deployment_document(
            example_deployment, environmentKey=environment, applicationKey=application
        )
        run_import(write_json(tmp_path / f"{uuid.uuid4()}.json", document), project=project)
        return document["id"]

    web_prod_billing = seed("web", "production", "billing")
    web_prod_checkout = seed("web", "production", "checkout")
    web_staging_billing = seed("web", "staging", "billing")
    api_prod_billing = seed("api", "production", "billing")

    def ids(**options):
        return {item["id"] for item in exported_items(**options)}

    assert ids(project="web") == {web_prod_billing, web_prod_checkout, web_staging_billing}
    assert ids(project="web", environment="production") == {web_prod_billing, web_prod_checkout}
    assert ids(environment="production", application="billing") == {
        web_prod_billing,
        api_prod_billing,
    }
    assert ids(application="billing, checkout", environment="production", project="web") == {
        web_prod_billing,
        web_prod_checkout,
    }
    assert ids(project="nowhere") == set()


def test_exporting_mixed_projects_warns_that_the_file_has_no_project(example_deployment, tmp_path):
    run_import(
        write_json(tmp_path / "a.json", deployment_document(example_deployment)), project="a"
    )
    run_import(
        write_json(tmp_path / "b.json", deployment_document(example_deployment)), project="b"
    )

    err = io.StringIO()
    call_command("export_deployments", stdout=io.StringIO(), stderr=err)
    one_project = io.StringIO()
    call_command("export_deployments", project="a", stdout=io.StringIO(), stderr=one_project)

    assert "2 deployments exported" in err.getvalue()
    assert "deployments of 2 projects (a, b)" in err.getvalue()
    assert "projects" not in one_project.getvalue()


def test_an_empty_export_is_an_empty_collection_that_imports(tmp_path):
    output = run_export()

    assert json.loads(output) == {"items": [], "totalCount": 0}
    source = tmp_path / "export.json"
    source.write_text(output)
    assert "nothing imported" in run_import(source)


def test_export_to_a_file_reports_and_leaves_no_partial_file(example_deployment, tmp_path):
    run_import(write_json(tmp_path / "seed.json", variety(example_deployment)))
    target = tmp_path / "out" / "export.json"
    target.parent.mkdir()

    out = io.StringIO()
    call_command("export_deployments", output=str(target), stdout=out)

    assert out.getvalue() == f"{target}: 5 deployments exported\n"
    assert target.read_text() == run_export()
    assert [path.name for path in target.parent.iterdir()] == ["export.json"]


def test_export_to_an_unwritable_place_fails_clearly(tmp_path):
    target = tmp_path / "missing-folder" / "export.json"

    with pytest.raises(CommandError, match="export.json: cannot write: No such file"):
        call_command("export_deployments", output=str(target), stdout=io.StringIO())


class RecordingStream(io.StringIO):
    """Notes how many queries had run when the first deployment was written."""

    def __init__(self, context):
        super().__init__()
        self.context = context
        self.queries_at_first_item = None

    def write(self, text):
        if self.queries_at_first_item is None and text.startswith('{"id"'):
            self.queries_at_first_item = len(self.context.captured_queries)
        return super().write(text)


def test_export_streams_in_chunks_with_constant_queries_per_chunk(
    example_deployment, tmp_path, django_assert_max_num_queries
):
    documents = [
        deployment_document(example_deployment, startedAt=START + minute * 60_000)
        for minute in range(1200)
    ]
    run_import(write_json(tmp_path / "many.json", collection(documents)))

    # 3 chunks of at most 500, each: the deployments, pull-request links, their pull
    # requests, the pull requests' flag references, the deployments' flag references.
    with CaptureQueriesContext(connection) as queries:
        with django_assert_max_num_queries(3 * 5):
            stream = RecordingStream(queries)
            result = deployments_export(stream=stream, chunk_size=500)

    assert result.deployments == 1200
    # Written while later chunks were still to be read, not after loading everything.
    assert stream.queries_at_first_item == 5
    assert len(queries.captured_queries) == 15
    document = json.loads(stream.getvalue())
    assert document["totalCount"] == 1200
    assert [item["id"] for item in document["items"]] == [d["id"] for d in reversed(documents)]


def test_chunks_that_split_a_run_of_equal_start_times_lose_and_repeat_nothing(
    example_deployment, tmp_path
):
    documents = [deployment_document(example_deployment, startedAt=START) for _ in range(7)]
    documents.append(deployment_document(example_deployment, startedAt=START - HOUR))
    run_import(write_json(tmp_path / "ties.json", documents))

    stream = io.StringIO()
    deployments_export(stream=stream, chunk_size=3)

    ids = [item["id"] for item in json.loads(stream.getvalue())["items"]]
    ties = sorted((d["id"] for d in documents[:7]), key=lambda i: uuid.UUID(i).int, reverse=True)
    assert ids == [*ties, documents[7]["id"]]
