"""Properties of the JSON Patch engine, checked on generated documents and patches.

The central ones: applying the compiled patch to the document the user saw gives the
document the user asked for; the inverse gives the original back; and any patch either
applies whole or changes nothing. The example counts add up to 2,600, which run in
about 20 s on two cores; a failure prints a blob to reproduce it with
`@reproduce_failure`.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import jsonpatch
from hypothesis import event, given, settings
from hypothesis import strategies as st
from jsonpointer import JsonPointerException, resolve_pointer

from deployments.patching import (
    EDITABLE_FIELDS,
    MAX_MILLIS,
    PatchConflict,
    PatchRejected,
    PatchUnapplicable,
    apply_patch,
    check_policy,
    compile_patch,
    invert_patch,
    validate_document,
)


def examples(count: int) -> settings:
    # No deadline: one slow example on a busy CI machine is not a failure; the unit
    # tests bound the expensive cases instead.
    return settings(max_examples=count, deadline=None, print_blob=True)


# ---------------------------------------------------------------------------
# Strategies

# The utf-8 codec leaves out surrogates; NUL is refused by the policy, so valid
# documents have none.
SAFE_CHARACTERS = st.characters(codec="utf-8", exclude_characters="\x00")
SAFE_TEXT = st.text(SAFE_CHARACTERS, max_size=10)
NASTY_KEYS = st.sampled_from(
    ["a/b", "~0", "~1", "~", "/", "", "-", "0", "a~1b", "ünï", "😀", "buildNumber"]
)
KEYS = NASTY_KEYS | SAFE_TEXT
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | SAFE_TEXT
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=10,
)
METADATA = st.dictionaries(KEYS, JSON_VALUES, max_size=6)
# Status and kind: the values seen in practice, or any non-blank text up to 64 characters.
LABELS = st.sampled_from(
    ["started", "finished", "failed", "forward", "redeployment", "rollback"]
) | st.text(SAFE_CHARACTERS, min_size=1, max_size=63).map(
    lambda text: text if text.strip() else "x" + text
)
MILLIS = st.integers(0, MAX_MILLIS) | st.integers(1_600_000_000_000, 1_800_000_000_000)
COUNTS = st.integers(0, 10_000)


@st.composite
def documents(draw: st.DrawFn, labels=LABELS, metadata=METADATA) -> dict[str, Any]:
    """A valid DeploymentRep, unexpanded, as the cache exports it."""
    started = draw(MILLIS)
    # The read-only fields only need to be there (and to stay as they are), so one
    # draw fills them all: drawing is most of these tests' time.
    n = draw(COUNTS)
    document: dict[str, Any] = {
        "id": str(uuid.UUID(int=n)),
        "applicationKey": ["billing-service", "web", "api"][n % 3],
        "applicationVersion": f"{n:07x}",
        "startedAt": started,
        "status": draw(labels),
        "kind": draw(labels),
        "active": draw(st.booleans()),
        "archived": draw(st.booleans()),
        "environmentKey": ["production", "staging"][n % 2],
        "numberOfContributors": n % 7,
        "numberOfPullRequests": n % 13,
        "linesAdded": n,
        "linesDeleted": n // 2,
        "leadTime": n * 1000,
    }
    if draw(st.booleans()):
        ended = draw(st.integers(started, min(started + 10**9, MAX_MILLIS)))
        document.update(endedAt=ended, durationMs=ended - started)
    if draw(st.booleans()):
        document["metadata"] = draw(metadata)
    if draw(st.booleans()):
        document["leadTimeStages"] = {"codingDurationMs": n * 10}
    # Through JSON, as documents arrive: sampled values are shared objects, and a
    # parsed document never has two members that are the same object.
    return json.loads(json.dumps(document))


@st.composite
def desired_metadata(draw: st.DrawFn, seen: Any) -> dict[str, Any]:
    """Metadata a user might want, starting from what they saw: keys kept, changed,
    dropped and added."""
    if not isinstance(seen, dict) or draw(st.booleans()):
        return draw(METADATA)
    wanted = {}
    for key, value in seen.items():
        fate = draw(st.sampled_from(["keep", "change", "drop"]))
        if fate == "keep":
            wanted[key] = copy.deepcopy(value)
        elif fate == "change":
            wanted[key] = draw(JSON_VALUES)
    wanted.update(draw(METADATA))
    return wanted


@st.composite
def edits(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(seen, desired): a document and valid desired values for some editable fields."""
    seen = draw(documents())
    chosen = draw(st.sets(st.sampled_from(EDITABLE_FIELDS)))
    strategies = {
        "status": LABELS,
        "kind": LABELS,
        "active": st.booleans(),
        "archived": st.booleans(),
        "startedAt": MILLIS | st.just(seen["startedAt"]),
        "endedAt": st.none() | MILLIS | st.integers(seen["startedAt"], MAX_MILLIS),
        "metadata": st.none() | desired_metadata(seen.get("metadata")),
    }
    return seen, {field: draw(strategies[field]) for field in sorted(chosen)}


# ---------------------------------------------------------------------------
# Oracles


def canonical(value: Any) -> Any:
    """A form in which equal means equal as JSON: true is not 1, 1 is 1.0."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, dict):
        return ("object", {key: canonical(item) for key, item in value.items()})
    if isinstance(value, list):
        return ("array", [canonical(item) for item in value])
    return ("other", value)


def exactly(value: Any) -> str:
    """A form in which equal means the same JSON text, types and all."""
    return json.dumps(value, sort_keys=True)


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def with_duration(document: dict[str, Any]) -> dict[str, Any]:
    """durationMs as LaunchDarkly derives it (left alone when the times are not numbers,
    which validation then refuses)."""
    started, ended = document.get("startedAt"), document.get("endedAt")
    if ended is None:
        document.pop("durationMs", None)
    elif is_integer(started) and is_integer(ended):
        document["durationMs"] = ended - started
    return document


def updated(seen: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    expected = copy.deepcopy(seen)
    for field, value in desired.items():
        if value is None:
            expected.pop(field, None)
        else:
            expected[field] = copy.deepcopy(value)
    return with_duration(expected)


def ends_before_start(document: dict[str, Any]) -> bool:
    return "endedAt" in document and document["endedAt"] < document["startedAt"]


# ---------------------------------------------------------------------------
# Compile and invert


@examples(400)
@given(edits())
def test_compiled_patch_gives_the_document_the_user_asked_for(edit):
    seen, desired = edit
    snapshot = exactly(seen)
    patch = compile_patch(seen, desired)
    check_policy(patch)  # every desired value is valid, so the patch must pass
    expected = updated(seen, desired)

    if ends_before_start(expected):
        try:
            apply_patch(seen, patch)
        except PatchRejected as rejected:
            assert rejected.errors == [
                {"attribute": "/endedAt", "reason": "must not be before startedAt"}
            ]
        else:
            raise AssertionError("an end before the start was accepted")
    else:
        assert canonical(apply_patch(seen, patch)) == canonical(expected)
    assert exactly(seen) == snapshot


@examples(400)
@given(edits())
def test_inverse_gives_the_original_back_and_inverting_again_redoes(edit):
    before, desired = edit
    if ends_before_start(updated(before, desired)):
        desired.pop("endedAt", None)
        desired.pop("startedAt", None)
    after = apply_patch(before, compile_patch(before, desired))

    inverse = invert_patch(before, after)
    check_policy(inverse)
    reverted = apply_patch(after, inverse)
    assert canonical(reverted) == canonical(before)

    redo = invert_patch(after, reverted)
    check_policy(redo)
    assert canonical(apply_patch(reverted, redo)) == canonical(after)


@examples(200)
@given(documents())
def test_compiling_the_seen_values_gives_an_empty_patch(document):
    desired = {field: copy.deepcopy(document.get(field)) for field in EDITABLE_FIELDS}

    assert compile_patch(document, desired) == []
    assert invert_patch(document, copy.deepcopy(document)) == []


# ---------------------------------------------------------------------------
# Arbitrary patches: whole or nothing

READ_ONLY_PATHS = [
    "/id",
    "/applicationKey",
    "/environmentKey",
    "/numberOfPullRequests",
    "/linesAdded",
    "/leadTime",
    "/durationMs",
    "/leadTimeStages",
    "/leadTimeStages/codingDurationMs",
    "/pullRequests/0",
]
EDITABLE_PATHS = [f"/{field}" for field in EDITABLE_FIELDS]
SMALL_KEYS = ["a", "b", "a/b", "~"]
METADATA_PATHS = [
    "/metadata/a",
    "/metadata/b",
    "/metadata/a~1b",
    "/metadata/~0",
    "/metadata/list/0",
    "/metadata/list/-",
    "/metadata/a/a",
    "/metadata/",
]
BAD_PATHS = ["", "status", "/~2", "/metadata/~", "/-"]
POINTERS = st.sampled_from(READ_ONLY_PATHS + EDITABLE_PATHS + METADATA_PATHS + BAD_PATHS)
ANY_POINTER = POINTERS | st.lists(KEYS, max_size=3).map(
    lambda parts: "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
)
SMALL_VALUES = st.sampled_from(
    [None, True, False, 0, 1, 1.0, "x", "started", "finished", [], [1], {}, {"a": 1}]
)
TYPED_VALUES = (
    SMALL_VALUES
    | LABELS
    | MILLIS
    | st.just(-1)
    | st.just(MAX_MILLIS + 1)
    | st.just("\x00")
    | st.just("\ud800")
)
OPERATION_NAMES = st.sampled_from(["add", "remove", "replace", "move", "copy", "test"])


def loose_operations(names, paths, values) -> st.SearchStrategy[dict[str, Any]]:
    """Operations whose members may each be missing or of the wrong type."""
    return st.fixed_dictionaries(
        {},
        optional={
            "op": names,
            "path": paths,
            "value": values,
            "from": paths,
        },
    )


HOSTILE_OPERATIONS = (
    loose_operations(
        OPERATION_NAMES | st.sampled_from(["merge", "", "ADD"]) | st.integers(),
        ANY_POINTER | st.integers() | st.none(),
        TYPED_VALUES | JSON_VALUES,
    )
    | JSON_VALUES
)

# Well-formed operations over small documents, so that many pass the policy and reach
# every outcome of apply: success, failed test, missing member, invalid result.
PLAUSIBLE_PATHS = st.sampled_from(EDITABLE_PATHS + METADATA_PATHS)
SMALL_LABELS = st.sampled_from(["started", "finished"])
SMALL_METADATA = st.dictionaries(
    st.sampled_from(SMALL_KEYS),
    SMALL_VALUES | st.lists(SMALL_VALUES, max_size=3) | st.just({"a": 1}),
    max_size=4,
)
SMALL_DOCUMENTS = documents(labels=SMALL_LABELS, metadata=SMALL_METADATA)
FITTING_VALUES = {
    "/status": SMALL_LABELS,
    "/kind": SMALL_LABELS,
    "/active": st.booleans(),
    "/archived": st.booleans(),
    "/startedAt": MILLIS,
    "/endedAt": MILLIS,
    "/metadata": SMALL_METADATA,
}


@st.composite
def plausible_operations(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """A well-formed operation, its value often of the right type, its test often of
    the value the document has."""
    name = draw(OPERATION_NAMES)
    path = draw(PLAUSIBLE_PATHS)
    operation = {"op": name, "path": path}
    current = resolve_pointer(document, path, None)
    if name == "test" and current is not None and draw(st.booleans()):
        operation["value"] = copy.deepcopy(current)
    elif name in ("add", "replace", "test"):
        operation["value"] = draw(FITTING_VALUES.get(path, SMALL_VALUES) | TYPED_VALUES)
    if name in ("move", "copy"):
        operation["from"] = draw(PLAUSIBLE_PATHS)
    return operation


@st.composite
def plausible_edits(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    document = draw(SMALL_DOCUMENTS)
    patch = draw(st.lists(plausible_operations(document), min_size=1, max_size=6))
    return document, patch


def reference_result(document: dict[str, Any], patch: list[Any]) -> Any:
    """jsonpatch applied directly, as the engine should apply it: the result, or the
    exception class it raised."""
    try:
        return with_duration(jsonpatch.apply_patch(document, patch))
    except jsonpatch.JsonPatchTestFailed:
        return PatchConflict
    except (jsonpatch.JsonPatchException, JsonPointerException):
        return PatchUnapplicable


def attributes_of(patch: Any) -> set[str]:
    """What a rejection may name: the body, or an operation by its path or index."""
    names = {"patch"}
    for index, operation in enumerate(patch if isinstance(patch, list) else []):
        path = operation.get("path") if isinstance(operation, dict) else None
        names.add(path if isinstance(path, str) and path else f"patch[{index}]")
    return names


def assert_whole_or_nothing(document: dict[str, Any], patch: Any) -> None:
    snapshot = exactly(document)
    try:
        check_policy(patch)
    except PatchRejected as rejected:
        event("rejected by the policy")
        assert rejected.errors
        assert {error["attribute"] for error in rejected.errors} <= attributes_of(patch)
        assert exactly(document) == snapshot
        return

    expected = reference_result(copy.deepcopy(document), patch)
    try:
        result = apply_patch(document, patch)
    except (PatchConflict, PatchUnapplicable) as failure:
        event(type(failure).__name__)
        assert type(failure) is expected
        assert failure.message.startswith(f"operation {failure.index}: ")
        assert len(failure.message) < 400  # names the operation, never dumps the document
    except PatchRejected as rejected:
        event("applied, result rejected")
        # The patch applied, but its result breaks a field rule.
        assert isinstance(expected, dict), expected
        assert rejected.errors and set(map(str, rejected.errors)) <= set(
            map(str, validate_document(expected))
        )
    else:
        event("applied")
        assert isinstance(expected, dict), expected
        assert exactly(result) == exactly(expected)
        assert validate_document(result) == []
        for field in document.keys() - {*EDITABLE_FIELDS, "durationMs"}:
            assert exactly(result[field]) == exactly(document[field]), field
        assert result.keys() <= document.keys() | {*EDITABLE_FIELDS, "durationMs"}
    assert exactly(document) == snapshot


@examples(500)
@given(documents(), st.lists(HOSTILE_OPERATIONS, max_size=6) | JSON_VALUES)
def test_hostile_patch_is_rejected_or_applies_whole_or_changes_nothing(document, patch):
    assert_whole_or_nothing(document, patch)


@examples(800)
@given(plausible_edits())
def test_plausible_patch_applies_whole_or_changes_nothing(edit):
    document, patch = edit
    assert_whole_or_nothing(document, patch)


@examples(300)
@given(st.data())
def test_policy_reports_exactly_the_operations_that_fail_alone(data):
    document = data.draw(SMALL_DOCUMENTS)
    patch = data.draw(st.lists(HOSTILE_OPERATIONS | plausible_operations(document), max_size=8))
    expected = []
    for index, alone in enumerate(patch):
        try:
            check_policy([alone])
        except PatchRejected as rejected:
            (error,) = rejected.errors
            path = alone.get("path") if isinstance(alone, dict) else None
            attribute = path if isinstance(path, str) and path else f"patch[{index}]"
            expected.append({"attribute": attribute, "reason": error["reason"]})

    try:
        check_policy(patch)
    except PatchRejected as rejected:
        assert rejected.errors == expected
    else:
        assert expected == []
