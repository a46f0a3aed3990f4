"""The JSON Patch engine: compile, policy, apply, validate, invert. No database."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deployments.patching import (
    EDITABLE_FIELDS,
    MAX_OPERATIONS,
    PatchConflict,
    PatchError,
    PatchRejected,
    PatchUnapplicable,
    apply_patch,
    check_policy,
    compile_patch,
    invert_patch,
    validate_document,
)

REPOSITORY = Path(__file__).resolve().parent.parent
KIB = 1024


@pytest.fixture
def document(example_deployment: dict[str, Any]) -> dict[str, Any]:
    """LaunchDarkly's example deployment (expanded), a private copy per test."""
    return copy.deepcopy(example_deployment)


def rejected_errors(patch: Any) -> list[dict[str, str]]:
    with pytest.raises(PatchRejected) as raised:
        check_policy(patch)
    return raised.value.errors


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


# ---------------------------------------------------------------------------
# compile_patch


@pytest.mark.parametrize(
    ("field", "new_value"),
    [
        ("status", "failed"),
        ("kind", "rollback"),
        ("active", False),
        ("archived", True),
        ("startedAt", 1706700000000),
        ("endedAt", 1706720000000),
    ],
)
def test_compile_tests_the_seen_value_then_replaces_it(document, field, new_value):
    patch = compile_patch(document, {field: new_value})

    assert patch == [
        {"op": "test", "path": f"/{field}", "value": document[field]},
        {"op": "replace", "path": f"/{field}", "value": new_value},
    ]


def test_compile_of_unchanged_values_is_empty(document):
    desired = {field: copy.deepcopy(document[field]) for field in EDITABLE_FIELDS}

    assert compile_patch(document, desired) == []
    assert compile_patch(document, {}) == []


def test_compile_adds_a_field_the_document_lacks_without_a_test(document):
    del document["endedAt"]

    assert compile_patch(document, {"endedAt": 1706712518000}) == [
        {"op": "add", "path": "/endedAt", "value": 1706712518000}
    ]


def test_compile_removes_a_field_desired_as_none_after_testing_it(document):
    assert compile_patch(document, {"endedAt": None, "metadata": None}) == [
        {"op": "test", "path": "/endedAt", "value": 1706712518000},
        {"op": "remove", "path": "/endedAt"},
        {"op": "test", "path": "/metadata", "value": {"buildNumber": "1234"}},
        {"op": "remove", "path": "/metadata"},
    ]


def test_compile_of_none_for_an_absent_field_is_empty(document):
    del document["endedAt"]

    assert compile_patch(document, {"endedAt": None}) == []


def test_compile_of_none_for_a_required_field_compiles_a_remove_that_policy_refuses(document):
    patch = compile_patch(document, {"status": None})

    assert patch[-1] == {"op": "remove", "path": "/status"}
    assert rejected_errors(patch) == [
        {"attribute": "/status", "reason": "is required and cannot be removed"}
    ]


@pytest.mark.parametrize(("seen", "wanted"), [(1, True), (True, 1), (0, False), (False, 0)])
def test_compile_tells_booleans_from_numbers(document, seen, wanted):
    document["metadata"] = {"flag": seen}

    assert compile_patch(document, {"metadata": {"flag": wanted}}) == [
        {"op": "test", "path": "/metadata/flag", "value": seen},
        {"op": "replace", "path": "/metadata/flag", "value": wanted},
    ]


def test_compile_treats_equal_numbers_as_equal_as_json_does(document):
    document["metadata"] = {"ratio": 1}

    assert compile_patch(document, {"metadata": {"ratio": 1.0}}) == []


def test_compile_metadata_escapes_tilde_and_slash_in_keys(document):
    document["metadata"] = {"a/b": 1, "~c": 2, "keep": 3, "gone/~": 4}

    patch = compile_patch(document, {"metadata": {"a/b": 1, "~c": 3, "keep": 3, "x~/y": 4}})

    assert patch == [
        {"op": "test", "path": "/metadata/gone~1~0", "value": 4},
        {"op": "remove", "path": "/metadata/gone~1~0"},
        {"op": "add", "path": "/metadata/x~0~1y", "value": 4},
        {"op": "test", "path": "/metadata/~0c", "value": 2},
        {"op": "replace", "path": "/metadata/~0c", "value": 3},
    ]
    assert apply_patch(document, patch)["metadata"] == {"a/b": 1, "~c": 3, "keep": 3, "x~/y": 4}


def test_compile_renames_a_metadata_key_as_remove_and_add(document):
    patch = compile_patch(document, {"metadata": {"build": "1234"}})

    assert patch == [
        {"op": "add", "path": "/metadata/build", "value": "1234"},
        {"op": "test", "path": "/metadata/buildNumber", "value": "1234"},
        {"op": "remove", "path": "/metadata/buildNumber"},
    ]


def test_compile_keeps_a_metadata_key_set_to_null(document):
    patch = compile_patch(document, {"metadata": {"buildNumber": None}})

    assert patch[-1] == {"op": "replace", "path": "/metadata/buildNumber", "value": None}
    assert apply_patch(document, patch)["metadata"] == {"buildNumber": None}


def test_compile_adds_the_whole_metadata_when_the_document_has_none(document):
    del document["metadata"]

    assert compile_patch(document, {"metadata": {"a": 1}}) == [
        {"op": "add", "path": "/metadata", "value": {"a": 1}}
    ]


def test_compile_output_does_not_depend_on_key_order(document):
    first = compile_patch(document, {"metadata": {"b": 2, "a": 1}, "status": "x", "active": False})
    second = compile_patch(document, {"active": False, "status": "x", "metadata": {"a": 1, "b": 2}})

    assert first == second
    assert [op["path"] for op in first if op["op"] != "test"] == [
        "/status",
        "/active",
        "/metadata/a",
        "/metadata/b",
        "/metadata/buildNumber",
    ]


def test_compiled_patch_shares_no_values_with_its_inputs(document):
    desired = {"metadata": {"list": [1, 2]}}
    patch = compile_patch(document, desired)

    desired["metadata"]["list"].append(3)
    document["metadata"]["buildNumber"] = "changed"

    assert {"op": "add", "path": "/metadata/list", "value": [1, 2]} in patch
    assert {"op": "test", "path": "/metadata/buildNumber", "value": "1234"} in patch


# ---------------------------------------------------------------------------
# check_policy: the body


@pytest.mark.parametrize("body", [{}, {"op": "add"}, "[]", None, 5, 1.5, True])
def test_policy_rejects_a_body_that_is_not_an_array(body):
    assert rejected_errors(body) == [
        {"attribute": "patch", "reason": "must be a JSON array of operations"}
    ]


def test_policy_caps_the_number_of_operations():
    operation = {"op": "test", "path": "/status", "value": "started"}
    check_policy([operation] * MAX_OPERATIONS)

    errors = rejected_errors([operation] * (MAX_OPERATIONS + 1))

    assert errors == [{"attribute": "patch", "reason": "must have at most 1,000 operations"}]


def test_policy_accepts_an_empty_patch():
    check_policy([])


# ---------------------------------------------------------------------------
# check_policy: one hostile operation at a time

HOSTILE_OPERATIONS = {
    # shape
    "not an object": (["add"], "patch[0]", "must be a JSON object"),
    "null operation": (None, "patch[0]", "must be a JSON object"),
    "unknown op": ({"op": "merge", "path": "/status", "value": "x"}, "/status", "op must be"),
    "op not a string": ({"op": 1, "path": "/status", "value": "x"}, "/status", "op must be"),
    "missing op": ({"path": "/status", "value": "x"}, "/status", "must have an op"),
    "missing path": ({"op": "add", "value": "x"}, "patch[0]", "must have a path"),
    "path not a string": ({"op": "remove", "path": 5}, "patch[0]", "path must be a string"),
    "path is a list": ({"op": "remove", "path": ["status"]}, "patch[0]", "must be a string"),
    "path without slash": (
        {"op": "replace", "path": "status", "value": "x"},
        "status",
        "must be a JSON Pointer",
    ),
    "bad escape": ({"op": "remove", "path": "/~2"}, "/~2", "must be a JSON Pointer"),
    "trailing tilde": ({"op": "remove", "path": "/metadata/a~"}, "/metadata/a~", "JSON Pointer"),
    "root path": ({"op": "replace", "path": "", "value": {}}, "patch[0]", "whole document"),
    "missing value for add": ({"op": "add", "path": "/status"}, "/status", "must have a value"),
    "missing value for replace": (
        {"op": "replace", "path": "/metadata/x"},
        "/metadata/x",
        "must have a value",
    ),
    "missing value for test": ({"op": "test", "path": "/id"}, "/id", "must have a value"),
    "missing from for move": ({"op": "move", "path": "/metadata/x"}, "/metadata/x", "from"),
    "from not a string": (
        {"op": "copy", "path": "/metadata/x", "from": 3},
        "/metadata/x",
        "from must be a string",
    ),
    "from not a pointer": (
        {"op": "copy", "path": "/metadata/x", "from": "metadata"},
        "/metadata/x",
        "from must be a JSON Pointer",
    ),
    # read-only paths
    **{
        f"read-only {path}": ({"op": "replace", "path": path, "value": 1}, path, "not editable")
        for path in (
            "/id",
            "/applicationKey",
            "/applicationVersion",
            "/environmentKey",
            "/numberOfPullRequests",
            "/linesAdded",
            "/leadTime",
            "/durationMs",
            "/pullRequests/0",
            "/flagReferences",
            "/leadTimeStages/codingDurationMs",
            "/status/0",
            "/-",
        )
    },
    "add a new top-level field": (
        {"op": "add", "path": "/owner", "value": "me"},
        "/owner",
        "not editable",
    ),
    "remove read-only": ({"op": "remove", "path": "/leadTimeStages"}, "/leadTimeStages", "not"),
    "move onto read-only": (
        {"op": "move", "path": "/id", "from": "/metadata/x"},
        "/id",
        "not editable",
    ),
    "copy onto read-only": (
        {"op": "copy", "path": "/linesAdded", "from": "/metadata/x"},
        "/linesAdded",
        "not editable",
    ),
    "move from read-only": (
        {"op": "move", "path": "/metadata/x", "from": "/applicationKey"},
        "/metadata/x",
        'from "/applicationKey" is not editable',
    ),
    "copy from read-only": (
        {"op": "copy", "path": "/metadata/x", "from": "/pullRequests"},
        "/metadata/x",
        'from "/pullRequests" is not editable',
    ),
    "move from a required field": (
        {"op": "move", "path": "/metadata/x", "from": "/status"},
        "/metadata/x",
        "moving it would remove it",
    ),
    # required fields
    **{
        f"remove {field}": ({"op": "remove", "path": f"/{field}"}, f"/{field}", "is required")
        for field in ("status", "kind", "active", "archived", "startedAt")
    },
    # types
    "status 5": ({"op": "replace", "path": "/status", "value": 5}, "/status", "must be a string"),
    "empty status": ({"op": "replace", "path": "/status", "value": ""}, "/status", "empty"),
    "blank status": ({"op": "replace", "path": "/status", "value": "  "}, "/status", "empty"),
    "65-char kind": (
        {"op": "replace", "path": "/kind", "value": "k" * 65},
        "/kind",
        "at most 64 characters",
    ),
    "active 'true'": (
        {"op": "replace", "path": "/active", "value": "true"},
        "/active",
        "true or false",
    ),
    "active 1": ({"op": "replace", "path": "/active", "value": 1}, "/active", "true or false"),
    "archived null": (
        {"op": "add", "path": "/archived", "value": None},
        "/archived",
        "true or false",
    ),
    "startedAt string": (
        {"op": "replace", "path": "/startedAt", "value": "1706701522000"},
        "/startedAt",
        "integer of epoch milliseconds",
    ),
    "startedAt -1": (
        {"op": "replace", "path": "/startedAt", "value": -1},
        "/startedAt",
        "between 1970 and 9999",
    ),
    "startedAt 1.5": (
        {"op": "replace", "path": "/startedAt", "value": 1.5},
        "/startedAt",
        "integer of epoch milliseconds",
    ),
    "startedAt whole float": (
        {"op": "replace", "path": "/startedAt", "value": 1706701522000.0},
        "/startedAt",
        "integer",
    ),
    "startedAt after 9999": (
        {"op": "replace", "path": "/startedAt", "value": 253402300800000},
        "/startedAt",
        "between 1970 and 9999",
    ),
    "endedAt true": (
        {"op": "add", "path": "/endedAt", "value": True},
        "/endedAt",
        "integer of epoch milliseconds",
    ),
    "metadata string": (
        {"op": "replace", "path": "/metadata", "value": "x"},
        "/metadata",
        "must be a JSON object",
    ),
    "metadata list": (
        {"op": "add", "path": "/metadata", "value": []},
        "/metadata",
        "must be a JSON object",
    ),
    # unsafe values
    "huge metadata": (
        {"op": "add", "path": "/metadata", "value": {"log": "x" * (64 * KIB)}},
        "/metadata",
        "larger than 64 KiB",
    ),
    "huge metadata value": (
        {"op": "add", "path": "/metadata/log", "value": ["x" * KIB] * 70},
        "/metadata/log",
        "larger than 64 KiB",
    ),
    "huge test value": (
        {"op": "test", "path": "/metadata/log", "value": "x" * (65 * KIB)},
        "/metadata/log",
        "larger than 64 KiB",
    ),
    "nested 1000 deep": (
        {"op": "add", "path": "/metadata/deep", "value": nested(1000)},
        "/metadata/deep",
        "nested deeper than 32 levels",
    ),
    "nested 33 deep": (
        {"op": "replace", "path": "/metadata", "value": nested(33)},
        "/metadata",
        "nested deeper than 32 levels",
    ),
    "NUL in status": (
        {"op": "replace", "path": "/status", "value": "fin\x00ished"},
        "/status",
        "NUL",
    ),
    "NUL in a metadata key": (
        {"op": "add", "path": "/metadata", "value": {"a\x00b": 1}},
        "/metadata",
        "NUL",
    ),
    "NUL deep in metadata": (
        {"op": "add", "path": "/metadata/x", "value": {"a": [1, {"b": "\x00"}]}},
        "/metadata/x",
        "NUL",
    ),
    "NUL in path": ({"op": "remove", "path": "/metadata/a\x00"}, "/metadata/a\x00", "NUL"),
    "lone surrogate in value": (
        {"op": "add", "path": "/metadata/x", "value": "\ud800"},
        "/metadata/x",
        "lone surrogate",
    ),
    "lone surrogate in kind": (
        {"op": "replace", "path": "/kind", "value": "roll\udfffback"},
        "/kind",
        "lone surrogate",
    ),
    "NaN": ({"op": "add", "path": "/metadata/x", "value": float("nan")}, "/metadata/x", "NaN"),
    "infinity": (
        {"op": "add", "path": "/metadata/x", "value": float("inf")},
        "/metadata/x",
        "infinite",
    ),
    "not JSON": ({"op": "add", "path": "/metadata/x", "value": {1, 2}}, "/metadata/x", "JSON"),
    "non-string key": (
        {"op": "add", "path": "/metadata/x", "value": {1: "a"}},
        "/metadata/x",
        "string keys",
    ),
}


@pytest.mark.parametrize(
    ("operation", "attribute", "reason"),
    list(HOSTILE_OPERATIONS.values()),
    ids=list(HOSTILE_OPERATIONS),
)
def test_policy_rejects_hostile_operation(operation, attribute, reason):
    errors = rejected_errors([operation])

    assert len(errors) == 1
    assert errors[0]["attribute"] == attribute
    assert reason in errors[0]["reason"]


def test_policy_reports_every_offending_operation_in_order(document):
    patch = [
        {"op": "test", "path": "/status", "value": "finished"},
        {"op": "replace", "path": "/id", "value": "x"},
        {"op": "replace", "path": "/status", "value": "failed"},
        {"op": "replace", "path": "/active", "value": 1},
        "remove",
        {"op": "add", "path": "/metadata/ok", "value": 1},
    ]

    errors = rejected_errors(patch)

    assert [error["attribute"] for error in errors] == ["/id", "/active", "patch[4]"]


def test_policy_reports_each_hostile_operation_when_sent_together():
    patch = [operation for operation, _, _ in HOSTILE_OPERATIONS.values()]

    errors = rejected_errors(patch)

    assert len(errors) == len(HOSTILE_OPERATIONS)
    expected = [
        attribute if not attribute.startswith("patch[") else f"patch[{index}]"
        for index, (_, attribute, _) in enumerate(HOSTILE_OPERATIONS.values())
    ]
    assert [error["attribute"] for error in errors] == expected


def test_policy_rejection_is_a_400_invalid_request():
    with pytest.raises(PatchRejected) as raised:
        check_policy([{"op": "remove", "path": "/id"}, {"op": "remove", "path": "/kind"}])

    error = raised.value
    assert (error.status, error.code) == (400, "invalid_request")
    assert isinstance(error, PatchError)
    assert "/id" in error.message and "/kind" in error.message


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "/status", "value": "finished"},
        {"op": "replace", "path": "/status", "value": "s" * 64},
        {"op": "replace", "path": "/kind", "value": "rollback"},
        {"op": "replace", "path": "/active", "value": False},
        {"op": "replace", "path": "/archived", "value": True},
        {"op": "replace", "path": "/startedAt", "value": 0},
        {"op": "replace", "path": "/startedAt", "value": 253402300799999},
        {"op": "add", "path": "/endedAt", "value": 1706712518000},
        {"op": "remove", "path": "/endedAt"},
        {"op": "remove", "path": "/metadata"},
        {"op": "add", "path": "/metadata", "value": {}},
        {"op": "add", "path": "/metadata/", "value": "empty key"},
        {"op": "add", "path": "/metadata/a~1b/~0c", "value": {"nested": [1, None, True]}},
        {"op": "add", "path": "/metadata/list/-", "value": 3},
        {"op": "remove", "path": "/metadata/list/0"},
        {"op": "move", "path": "/metadata/new", "from": "/metadata/old"},
        {"op": "move", "path": "/metadata/ended", "from": "/endedAt"},
        {"op": "move", "path": "/status", "from": "/metadata/status"},
        {"op": "copy", "path": "/metadata/previousStatus", "from": "/status"},
        {"op": "copy", "path": "/kind", "from": "/metadata/kind"},
        {"op": "test", "path": "/id", "value": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
        {"op": "test", "path": "/pullRequests/items/0/title", "value": "x"},
        {"op": "test", "path": "", "value": {}},
        {"op": "test", "path": "/active", "value": 1},  # wrong type only fails the test
        {"op": "add", "path": "/metadata/emoji", "value": "🚀 ünïcode"},
        {"op": "add", "path": "/metadata/x", "value": nested(31)},
        {"op": "replace", "path": "/status", "value": "x", "extra": "ignored per RFC 6902"},
    ],
    ids=lambda operation: f"{operation['op']} {operation['path']}",
)
def test_policy_accepts_legitimate_operation(operation):
    check_policy([operation])


def test_policy_size_bound_is_64_kib_of_compact_utf8_json():
    at_limit = "é" * ((64 * KIB - 2) // 2)  # two bytes each, plus the quotes
    assert json_size(at_limit) == 64 * KIB
    check_policy([{"op": "add", "path": "/metadata/x", "value": at_limit}])

    errors = rejected_errors([{"op": "add", "path": "/metadata/x", "value": at_limit + "a"}])

    assert errors == [
        {"attribute": "/metadata/x", "reason": "value must not be larger than 64 KiB as JSON"}
    ]


# ---------------------------------------------------------------------------
# apply_patch


def test_apply_returns_a_new_document_and_leaves_the_input_alone(document):
    snapshot = copy.deepcopy(document)
    patch = [{"op": "add", "path": "/metadata/list", "value": [1]}]

    result = apply_patch(document, patch)
    result["metadata"]["list"].append(2)
    result["pullRequests"]["items"].clear()

    assert document == snapshot
    assert patch[0]["value"] == [1]


def test_failed_test_midway_raises_conflict_and_changes_nothing(document):
    snapshot = copy.deepcopy(document)
    patch = [
        {"op": "replace", "path": "/status", "value": "failed"},
        {"op": "add", "path": "/metadata/note", "value": "x"},
        {"op": "test", "path": "/archived", "value": True},
        {"op": "replace", "path": "/archived", "value": False},
    ]

    with pytest.raises(PatchConflict) as raised:
        apply_patch(document, patch)

    error = raised.value
    assert error.message == "operation 2: test of /archived failed: expected true, found false"
    assert (error.index, error.path) == (2, "/archived")
    assert (error.status, error.code) == (409, "optimistic_locking_error")
    assert document == snapshot


def test_conflict_message_says_when_the_tested_value_is_missing(document):
    with pytest.raises(PatchConflict) as raised:
        apply_patch(document, [{"op": "test", "path": "/metadata/gone", "value": "x"}])

    assert raised.value.message == (
        'operation 0: test of /metadata/gone failed: expected "x", found nothing'
    )


@pytest.mark.parametrize(("field", "tested"), [("active", 1), ("archived", 0)])
def test_test_operation_tells_booleans_from_numbers(document, field, tested):
    with pytest.raises(PatchConflict):
        apply_patch(document, [{"op": "test", "path": f"/{field}", "value": tested}])


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (
            {"op": "remove", "path": "/metadata/missing"},
            "operation 0: remove /metadata/missing cannot be applied: "
            "nothing exists at /metadata/missing",
        ),
        (
            {"op": "replace", "path": "/metadata/missing", "value": 1},
            "operation 0: replace /metadata/missing cannot be applied: "
            "nothing exists at /metadata/missing",
        ),
        (
            {"op": "move", "path": "/metadata/b", "from": "/metadata/missing"},
            "operation 0: move /metadata/b cannot be applied: nothing exists at /metadata/missing",
        ),
        (
            {"op": "copy", "path": "/status", "from": "/metadata/missing"},
            "operation 0: copy /status cannot be applied: nothing exists at /metadata/missing",
        ),
    ],
    ids=["remove", "replace", "move", "copy"],
)
def test_operation_on_a_missing_member_is_unapplicable(document, operation, message):
    snapshot = copy.deepcopy(document)

    with pytest.raises(PatchUnapplicable) as raised:
        apply_patch(document, [operation])

    assert raised.value.message == message
    assert (raised.value.status, raised.value.code) == (422, "patch_failed")
    assert document == snapshot


@pytest.mark.parametrize(
    ("operation", "reason"),
    [
        (
            {"op": "add", "path": "/metadata/missing/child", "value": 1},
            "nothing exists at /metadata/missing",
        ),
        ({"op": "add", "path": "/metadata/list/5", "value": 1}, "can't insert outside of list"),
        (
            {"op": "add", "path": "/metadata/list/01", "value": 1},
            "'01' is not a valid sequence index",
        ),
        (
            {"op": "replace", "path": "/metadata/list/-", "value": 1},
            "nothing exists at /metadata/list/-",
        ),
        (
            {"op": "add", "path": "/metadata/buildNumber/x", "value": 1},
            "/metadata/buildNumber is neither an object nor an array",
        ),
        (
            {"op": "move", "path": "/metadata/buildNumber/x", "from": "/metadata"},
            "cannot move /metadata into itself",
        ),
        (
            {"op": "move", "path": "/metadata/missing/x", "from": "/metadata/buildNumber"},
            "nothing exists at /metadata/missing",
        ),
        (
            {"op": "copy", "path": "/metadata/x", "from": "/metadata/list/-"},
            "nothing exists at /metadata/list/-",
        ),
    ],
    ids=lambda value: f"{value['op']} {value['path']}" if isinstance(value, dict) else "",
)
def test_operation_that_does_not_fit_the_document_is_unapplicable(document, operation, reason):
    document["metadata"]["list"] = [1, 2]
    snapshot = copy.deepcopy(document)
    check_policy([operation])

    with pytest.raises(PatchUnapplicable) as raised:
        apply_patch(document, [{"op": "test", "path": "/status", "value": "finished"}, operation])

    assert raised.value.index == 1
    assert raised.value.message == (
        f"operation 1: {operation['op']} {operation['path']} cannot be applied: {reason}"
    )
    assert document == snapshot


def test_failure_messages_do_not_quote_the_document(document):
    document["metadata"]["secret"] = "s3cr3t"

    with pytest.raises(PatchUnapplicable) as raised:
        apply_patch(document, [{"op": "add", "path": "/metadata/missing/x", "value": 1}])

    assert "s3cr3t" not in raised.value.message


def test_ended_before_started_is_rejected_after_applying(document):
    patch = [{"op": "replace", "path": "/endedAt", "value": document["startedAt"] - 1}]
    check_policy(patch)

    with pytest.raises(PatchRejected) as raised:
        apply_patch(document, patch)

    assert raised.value.errors == [
        {"attribute": "/endedAt", "reason": "must not be before startedAt"}
    ]


def test_moving_started_later_than_ended_is_rejected(document):
    patch = [{"op": "replace", "path": "/startedAt", "value": document["endedAt"] + 1}]

    with pytest.raises(PatchRejected) as raised:
        apply_patch(document, patch)

    assert raised.value.errors[0]["attribute"] == "/endedAt"


def test_duration_follows_a_changed_end(document):
    patch = [{"op": "replace", "path": "/endedAt", "value": document["startedAt"] + 5_000}]

    assert apply_patch(document, patch)["durationMs"] == 5_000


def test_duration_follows_a_changed_start(document):
    patch = [{"op": "replace", "path": "/startedAt", "value": document["endedAt"] - 7}]

    assert apply_patch(document, patch)["durationMs"] == 7


def test_duration_goes_with_a_removed_end_and_returns_with_an_added_one(document):
    unfinished = apply_patch(document, [{"op": "remove", "path": "/endedAt"}])
    assert "durationMs" not in unfinished and "endedAt" not in unfinished

    finished = apply_patch(
        unfinished, [{"op": "add", "path": "/endedAt", "value": document["startedAt"] + 9}]
    )
    assert finished["durationMs"] == 9


def test_dash_appends_to_a_metadata_array(document):
    document["metadata"]["tags"] = ["a"]
    patch = [
        {"op": "add", "path": "/metadata/tags/-", "value": "b"},
        {"op": "add", "path": "/metadata/tags/0", "value": "first"},
    ]

    assert apply_patch(document, patch)["metadata"]["tags"] == ["first", "a", "b"]


def test_move_renames_a_metadata_key(document):
    patch = [{"op": "move", "path": "/metadata/build", "from": "/metadata/buildNumber"}]

    assert apply_patch(document, patch)["metadata"] == {"build": "1234"}


def test_copy_of_an_unfit_value_into_a_typed_field_is_rejected_after_applying(document):
    document["metadata"]["object"] = {"not": "a status"}
    patch = [{"op": "copy", "path": "/status", "from": "/metadata/object"}]
    check_policy(patch)

    with pytest.raises(PatchRejected) as raised:
        apply_patch(document, patch)

    assert raised.value.errors == [{"attribute": "/status", "reason": "must be a string"}]


def test_copy_and_move_of_fit_values_into_typed_fields_apply(document):
    document["metadata"]["next"] = "rollback"
    patch = [
        {"op": "copy", "path": "/metadata/previousStatus", "from": "/status"},
        {"op": "move", "path": "/kind", "from": "/metadata/next"},
    ]

    result = apply_patch(document, patch)

    assert result["kind"] == "rollback"
    assert result["metadata"] == {"buildNumber": "1234", "previousStatus": "finished"}


def test_repeated_self_copies_cannot_grow_the_document_without_bound(document):
    document["metadata"] = {"log": "x" * (20 * KIB)}
    snapshot = copy.deepcopy(document)
    patch = [{"op": "copy", "path": f"/metadata/c{i}", "from": "/metadata"} for i in range(10)]
    check_policy(patch)

    with pytest.raises(PatchRejected) as raised:
        apply_patch(document, patch)

    # 20, 40, then 80 KiB: the third copy would duplicate more than 64 KiB.
    assert raised.value.errors == [
        {
            "attribute": "/metadata/c2",
            "reason": "copied value must not be larger than 64 KiB as JSON",
        }
    ]
    assert document == snapshot


def test_metadata_grown_past_64_kib_by_many_small_adds_is_rejected(document):
    patch = [{"op": "add", "path": f"/metadata/k{i}", "value": "x" * (10 * KIB)} for i in range(7)]
    check_policy(patch)

    with pytest.raises(PatchRejected) as raised:
        apply_patch(document, patch)

    assert raised.value.errors == [
        {"attribute": "/metadata", "reason": "must not be larger than 64 KiB as JSON"}
    ]


def test_metadata_nested_past_the_bound_across_operations_is_rejected(document):
    thirty_deep: Any = {}
    for _ in range(29):
        thirty_deep = {"k": thirty_deep}
    # Each 30-level value is fine alone; the second lands 5 levels down in metadata.
    patch = [
        {"op": "add", "path": "/metadata/a", "value": thirty_deep},
        {"op": "add", "path": "/metadata/a/k/k/k/b", "value": thirty_deep},
    ]
    check_policy(patch)

    with pytest.raises(PatchRejected) as raised:
        apply_patch(document, patch)

    assert raised.value.errors[0]["attribute"] == "/metadata"
    assert "nested deeper than 32" in raised.value.errors[0]["reason"]


def test_an_untouched_field_out_of_bounds_does_not_block_other_edits(document):
    # The upstream may send more metadata than an edit may write; editing the status
    # must still work, and the metadata stays as it was.
    document["metadata"] = {"log": "x" * (70 * KIB)}

    result = apply_patch(document, [{"op": "replace", "path": "/status", "value": "failed"}])

    assert result["status"] == "failed" and result["metadata"] == document["metadata"]
    assert validate_document(document) == [
        {"attribute": "/metadata", "reason": "must not be larger than 64 KiB as JSON"}
    ]


def test_apply_refuses_a_malformed_patch_even_without_the_policy(document):
    with pytest.raises(PatchRejected) as raised:
        apply_patch(document, [{"op": "replace", "path": "", "value": {}}, {"path": "/status"}])

    assert [error["attribute"] for error in raised.value.errors] == ["patch[0]", "/status"]


def test_apply_of_an_empty_patch_gives_an_equal_copy(document):
    result = apply_patch(document, [])

    assert result == document and result is not document


# ---------------------------------------------------------------------------
# validate_document


def test_example_document_is_valid(document):
    assert validate_document(document) == []


def test_validate_names_every_bad_editable_field(document):
    document.update(status=5, active="yes", endedAt=document["startedAt"] - 1, metadata=[])
    del document["kind"]

    assert validate_document(document) == [
        {"attribute": "/status", "reason": "must be a string"},
        {"attribute": "/kind", "reason": "is required"},
        {"attribute": "/active", "reason": "must be true or false"},
        {"attribute": "/metadata", "reason": "must be a JSON object"},
        {"attribute": "/endedAt", "reason": "must not be before startedAt"},
    ]


def test_validate_ignores_read_only_fields(document):
    document.update(id=5, linesAdded="many")

    assert validate_document(document) == []


# ---------------------------------------------------------------------------
# invert_patch


def test_inverse_restores_the_original(document):
    edit = compile_patch(
        document,
        {"status": "failed", "archived": True, "endedAt": None, "metadata": {"a/b": [1]}},
    )
    after = apply_patch(document, edit)

    inverse = invert_patch(document, after)

    assert apply_patch(after, inverse) == document


def test_inverse_of_an_added_metadata_object_removes_it(document):
    del document["metadata"]
    after = apply_patch(document, [{"op": "add", "path": "/metadata", "value": {"a": 1}}])

    assert invert_patch(document, after) == [
        {"op": "test", "path": "/metadata", "value": {"a": 1}},
        {"op": "remove", "path": "/metadata"},
    ]


def test_reverting_a_revert_redoes_the_edit(document):
    after = apply_patch(document, compile_patch(document, {"kind": "rollback"}))
    reverted = apply_patch(after, invert_patch(document, after))

    redone = apply_patch(reverted, invert_patch(after, reverted))

    assert redone == after


def test_inverse_is_guarded_by_the_values_the_edit_left(document):
    after = apply_patch(document, compile_patch(document, {"status": "failed"}))
    edited_since = apply_patch(after, compile_patch(after, {"status": "started"}))

    with pytest.raises(PatchConflict) as raised:
        apply_patch(edited_since, invert_patch(document, after))

    assert raised.value.path == "/status"


def test_inverse_of_no_change_is_empty(document):
    assert invert_patch(document, copy.deepcopy(document)) == []


# ---------------------------------------------------------------------------
# Purity


def test_patching_module_does_not_import_django():
    code = "import sys; import deployments.patching; assert 'django' not in sys.modules"

    subprocess.run([sys.executable, "-c", code], cwd=REPOSITORY, check=True)
