"""The JSON Patch engine for deployment edits: pure, no Django, no HTTP.

A deployment is edited as LaunchDarkly edits it: an RFC 6902 JSON Patch against its
`DeploymentRep` document (camelCase, times as epoch-millisecond integers). The pipeline,
in the order the service runs it:

1. `compile_patch(seen, desired)` turns a form's desired values into operations, each
   change guarded by a `test` of the value the user saw (optimistic locking).
2. `check_policy(patch)` rejects whatever may not be edited, one error per offending
   operation: malformed operations, read-only paths, wrong types, unsafe values, sizes.
   It judges each operation alone, without the document; the caller runs it first, on
   every patch, whoever wrote it.
3. `apply_patch(document, patch)` applies the operations to a copy, in order, then
   derives `durationMs` and re-validates the fields the patch changed
   (`validate_document`): a failed `test` raises `PatchConflict` (409), an operation the
   document cannot take raises `PatchUnapplicable` (422), a result that breaks the rules
   (say `endedAt` before `startedAt`, or a `copy` that put an object into `/status`)
   raises `PatchRejected` (400). The input document is never changed, so a failure
   changes nothing.
4. `invert_patch(before, after)` is the patch that undoes an applied edit, guarded by
   `test`s of the values the edit left; reverting a revert works the same way.

Rules decided here (see also `upstream/NOTES.md`, "Editable by PATCH"):
- `move` and `copy` may take values only from editable paths; a `move` from a required
  field is refused, as it would remove that field. The value that lands in a typed field
  is checked after applying, like any other change.
- One operation value (and the value a `copy` duplicates) may take at most 64 KiB as
  compact UTF-8 JSON and nest at most 32 levels; `metadata` as a whole has the same
  bounds. A patch has at most 1,000 operations. Strings may not hold NUL characters or
  lone surrogates, which PostgreSQL refuses.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

import jsonpatch
from jsonpointer import JsonPointer, JsonPointerException

Problem = dict[str, str]  # {"attribute": ..., "reason": ...}, as in LaunchDarkly's 400s
Operation = dict[str, Any]

EDITABLE_FIELDS: Final = (
    "status",
    "kind",
    "active",
    "archived",
    "startedAt",
    "endedAt",
    "metadata",
)
# Every DeploymentRep has these, so no patch may take them away.
REQUIRED_FIELDS: Final = ("status", "kind", "active", "archived", "startedAt")
OPERATIONS: Final = ("add", "remove", "replace", "move", "copy", "test")

MAX_OPERATIONS: Final = 1_000
MAX_VALUE_BYTES: Final = 64 * 1024
MAX_METADATA_BYTES: Final = 64 * 1024
# Deep enough for any real metadata; shallow enough that nothing recurses near Python's
# limit (copy.deepcopy and json.dumps both recurse).
MAX_DEPTH: Final = 32
MAX_LABEL_LENGTH: Final = 64  # the cache's status and kind columns
# Epoch milliseconds beyond year 9999 do not fit a datetime. Same value as
# representation.MAX_MILLIS, which this module cannot import: that one imports Django.
MAX_MILLIS: Final = 253402300799999

_EDITABLE_LIST = "status, kind, active, archived, startedAt, endedAt and metadata"
_VALUE_OPERATIONS = ("add", "replace", "test")
_SOURCE_OPERATIONS = ("move", "copy")
_MISSING: Final = object()


# ---------------------------------------------------------------------------
# Errors


class PatchError(Exception):
    """A patch that cannot be applied; `code` and `status` are LaunchDarkly's."""

    code: str = "invalid_request"
    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PatchRejected(PatchError):
    """Malformed, or edits what may not be edited; `errors` names every offender."""

    code = "invalid_request"
    status = 400

    def __init__(self, errors: list[Problem], message: str | None = None) -> None:
        super().__init__(message or _summary(errors))
        self.errors = errors


class PatchConflict(PatchError):
    """A `test` operation failed: the document is not what the patch expected."""

    code = "optimistic_locking_error"
    status = 409

    def __init__(self, message: str, *, index: int, path: str) -> None:
        super().__init__(message)
        self.index = index
        self.path = path


class PatchUnapplicable(PatchError):
    """An operation the document cannot take, e.g. removing a member that is not there."""

    code = "patch_failed"
    status = 422

    def __init__(self, message: str, *, index: int, path: str) -> None:
        super().__init__(message)
        self.index = index
        self.path = path


def _summary(errors: list[Problem]) -> str:
    shown = "; ".join(f"{error['attribute']} {error['reason']}" for error in errors[:3])
    more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
    return f"Invalid patch: {shown}{more}"


# ---------------------------------------------------------------------------
# JSON helpers. Iterative rather than recursive, so that hostile nesting cannot raise
# RecursionError before the depth check has refused it.


def _json_equal(first: Any, second: Any, *, strict: bool = False) -> bool:
    """Equality as JSON means it: `true` is not `1`, `0` is not `false`; 1 is 1.0
    unless `strict`, which also tells integers from floats."""
    pending = [(first, second)]
    while pending:
        left, right = pending.pop()
        if isinstance(left, bool) or isinstance(right, bool):
            if type(left) is not type(right) or left != right:
                return False
        elif isinstance(left, dict) and isinstance(right, dict):
            if left.keys() != right.keys():
                return False
            pending.extend((left[key], right[key]) for key in left)
        elif isinstance(left, list) and isinstance(right, list):
            if len(left) != len(right):
                return False
            pending.extend(zip(left, right, strict=True))
        elif isinstance(left, dict | list) or isinstance(right, dict | list):
            return False
        elif left != right or (strict and type(left) is not type(right)):
            return False
    return True


def _clone(value: Any) -> Any:
    """A deep copy of a JSON value, so patches and results share nothing with inputs."""
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    pending = [(value, root)]
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            copied = {} if isinstance(item, dict) else [] if isinstance(item, list) else item
            if copied is not item:
                pending.append((item, copied))
            if isinstance(target, dict):
                target[key] = copied
            else:
                target.append(copied)
    return root


def _pointer(*parts: str) -> str:
    """A JSON Pointer (RFC 6901) to the member named by `parts`."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _pointer_parts(path: str) -> list[str] | None:
    """The unescaped parts of a JSON Pointer, or None when it is not one."""
    try:
        return list(JsonPointer(path).parts)
    except JsonPointerException:
        return None


_UNSAFE_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def string_reason(text: str) -> str | None:
    found = _UNSAFE_CHARACTER.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters"
    # json.loads pairs valid surrogates into one character; any left over are lone.
    return "must not contain lone surrogates (invalid Unicode)"


def value_reason(value: Any, *, max_bytes: int = MAX_VALUE_BYTES) -> str | None:
    """Why `value` may not be stored (depth, size, unsafe strings, non-JSON), or None."""
    reason = _walk_reason(value, max_bytes)
    if reason:
        return reason
    try:
        # The walk bounded depth, so encoding cannot recurse too deep.
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except ValueError:  # an int beyond Python's 4,300-digit conversion limit
        return "must not hold numbers too long to encode"
    if len(encoded.encode("utf-8")) > max_bytes:
        return f"must not be larger than {max_bytes // 1024} KiB as JSON"
    return None


def _walk_reason(value: Any, max_bytes: int) -> str | None:
    # `lower_bound` never exceeds the encoded size, so stopping on it is always right,
    # and it stops a huge value long before it is encoded.
    lower_bound = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"must not be nested deeper than {MAX_DEPTH} levels"
            lower_bound += 2
            if isinstance(item, dict):
                for key in item:
                    if not isinstance(key, str):
                        return "must have only string keys"
                    pending.append((key, depth))
                    lower_bound += 1
            pending.extend((child, depth + 1) for child in _children(item))
        elif isinstance(item, str):
            if reason := string_reason(item):
                return reason
            lower_bound += len(item) + 2
        elif isinstance(item, float) and not math.isfinite(item):
            return "must not contain NaN or infinite numbers"
        elif item is not None and not isinstance(item, bool | int | float):
            return "must be a JSON value"
        else:
            lower_bound += 1
        if lower_bound > max_bytes:
            return f"must not be larger than {max_bytes // 1024} KiB as JSON"
    return None


def _children(container: dict[str, Any] | list[Any]) -> Iterable[Any]:
    return container.values() if isinstance(container, dict) else container


# ---------------------------------------------------------------------------
# Field rules: what each editable field may hold. Shared by the policy (values in
# operations) and by validation (values in the patched document).


def _label_reason(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not value.strip():
        return "must not be empty"
    if len(value) > MAX_LABEL_LENGTH:
        return f"must be at most {MAX_LABEL_LENGTH} characters"
    return None


def _boolean_reason(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _is_integer(value: Any) -> bool:
    # bool is an int in Python, never in JSON.
    return isinstance(value, int) and not isinstance(value, bool)


def _millis_reason(value: Any) -> str | None:
    if not _is_integer(value):
        return "must be an integer of epoch milliseconds"
    if not 0 <= value <= MAX_MILLIS:
        return "must be epoch milliseconds between 1970 and 9999"
    return None


def _object_reason(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be a JSON object"


_FIELD_RULES: Final[dict[str, Callable[[Any], str | None]]] = {
    "status": _label_reason,
    "kind": _label_reason,
    "active": _boolean_reason,
    "archived": _boolean_reason,
    "startedAt": _millis_reason,
    "endedAt": _millis_reason,
    "metadata": _object_reason,
}


def _field_reason(field: str, value: Any) -> str | None:
    """Why `value` may not be the value of the editable `field`, or None."""
    if reason := _FIELD_RULES[field](value):
        return reason
    limit = MAX_METADATA_BYTES if field == "metadata" else MAX_VALUE_BYTES
    return value_reason(value, max_bytes=limit)


# ---------------------------------------------------------------------------
# Compile and invert


def compile_patch(seen: dict[str, Any], desired: dict[str, Any]) -> list[Operation]:
    """The patch that turns `seen` into `seen` with the `desired` values.

    `desired` maps editable fields to the values wanted; None removes the field.
    `metadata` is the whole desired object, compiled key by key. Every change to a
    field `seen` has is preceded by a `test` of the value seen there, so the patch fails
    (409) if someone changed it since. Nothing is checked here: `check_policy` judges
    the result, e.g. a None for a required field compiles to a `remove` it refuses.
    Operations come in `EDITABLE_FIELDS` order, metadata keys sorted.
    """
    operations: list[Operation] = []
    for field in sorted(desired, key=_field_order):
        if field == "metadata" and _both_objects(seen.get(field), desired[field]):
            operations.extend(_compile_metadata(seen[field], desired[field]))
        else:
            wanted = _MISSING if desired[field] is None else desired[field]
            operations.extend(_compile_member((field,), seen.get(field, _MISSING), wanted))
    return operations


def invert_patch(before: dict[str, Any], after: dict[str, Any]) -> list[Operation]:
    """The patch that takes `after` back to `before`, guarded by `test`s of `after`.

    Only editable fields are restored (durationMs follows when applied); a field
    `before` lacks is removed. Inverting the result again gives the redo.
    """
    desired = {
        field: before.get(field) for field in EDITABLE_FIELDS if field in before or field in after
    }
    return compile_patch(after, desired)


def _field_order(field: str) -> tuple[int, str]:
    # Unknown fields sort last, by name, so they still compile (and policy refuses them).
    known = field in EDITABLE_FIELDS
    return (EDITABLE_FIELDS.index(field) if known else len(EDITABLE_FIELDS), field)


def _both_objects(seen: Any, desired: Any) -> bool:
    return isinstance(seen, dict) and isinstance(desired, dict)


def _compile_metadata(seen: dict[str, Any], desired: dict[str, Any]) -> list[Operation]:
    operations: list[Operation] = []
    for key in sorted(seen.keys() | desired.keys()):
        # A metadata value may be null; only a key left out of `desired` is removed.
        wanted = desired.get(key, _MISSING)
        operations.extend(_compile_member(("metadata", key), seen.get(key, _MISSING), wanted))
    return operations


def _compile_member(parts: tuple[str, ...], seen: Any, wanted: Any) -> list[Operation]:
    """Operations for one member; _MISSING as `seen` means absent, as `wanted` removal."""
    path = _pointer(*parts)
    if seen is _MISSING:
        return [] if wanted is _MISSING else [{"op": "add", "path": path, "value": _clone(wanted)}]
    if wanted is not _MISSING and _json_equal(seen, wanted):
        return []
    guard = {"op": "test", "path": path, "value": _clone(seen)}
    if wanted is _MISSING:
        return [guard, {"op": "remove", "path": path}]
    return [guard, {"op": "replace", "path": path, "value": _clone(wanted)}]


# ---------------------------------------------------------------------------
# Policy


def check_policy(patch: object) -> None:
    """Raises PatchRejected listing every operation that may not be applied.

    Judges the patch alone (no document): its shape, that every write targets an
    editable path, that values have the right types and stay within the bounds. One
    error per offending operation, for its first problem; `attribute` is the
    operation's `path` when that is a non-empty string, else `patch[<index>]`.
    """
    errors = _patch_errors(patch, _policy_reason)
    if errors:
        raise PatchRejected(errors)


def _patch_errors(patch: object, judge: Callable[[Any], str | None]) -> list[Problem]:
    if not isinstance(patch, list):
        return [{"attribute": "patch", "reason": "must be a JSON array of operations"}]
    if len(patch) > MAX_OPERATIONS:
        reason = f"must have at most {MAX_OPERATIONS:,} operations"
        return [{"attribute": "patch", "reason": reason}]
    errors: list[Problem] = []
    for index, operation in enumerate(patch):
        if reason := judge(operation):
            errors.append({"attribute": _attribute(index, operation), "reason": reason})
    return errors


def _attribute(index: int, operation: Any) -> str:
    path = operation.get("path") if isinstance(operation, dict) else None
    # An empty path names nothing a reader would recognise; the index does.
    return path if isinstance(path, str) and path else f"patch[{index}]"


def _policy_reason(operation: Any) -> str | None:
    return _shape_reason(operation) or _permission_reason(operation)


def _shape_reason(operation: Any) -> str | None:
    """Why `operation` is not a well-formed, safe RFC 6902 operation, or None."""
    if not isinstance(operation, dict):
        return "must be a JSON object with op and path"
    if "op" not in operation:
        return "must have an op"
    name = operation["op"]
    if name not in OPERATIONS:
        return "op must be one of add, remove, replace, move, copy or test"
    if reason := _pointer_reason(operation, "path"):
        return reason
    if name != "test" and operation["path"] == "":
        return "must not replace the whole document"
    if name in _SOURCE_OPERATIONS and (reason := _pointer_reason(operation, "from")):
        return reason
    if name in _VALUE_OPERATIONS:
        if "value" not in operation:
            return f"must have a value for {name}"
        if reason := value_reason(operation["value"]):
            return f"value {reason}"
    return None


def _pointer_reason(operation: dict[str, Any], member: str) -> str | None:
    if member not in operation:
        return f"must have a {member}"
    pointer = operation[member]
    if not isinstance(pointer, str):
        return f"{member} must be a string"
    if reason := string_reason(pointer):
        return f"{member} {reason}"
    if _pointer_parts(pointer) is None:
        return f"{member} must be a JSON Pointer: empty, or /-separated with ~0 and ~1 escapes"
    return None


def _permission_reason(operation: dict[str, Any]) -> str | None:
    """Why a well-formed `operation` may not be applied to a deployment, or None."""
    name = operation["op"]
    if name == "test":
        return None  # reading is harmless; a failed test only stops the patch
    parts = _pointer_parts(operation["path"]) or []
    if not _is_editable(parts):
        return f"is not editable; only {_EDITABLE_LIST} can be changed"
    if name == "remove":
        required = len(parts) == 1 and parts[0] in REQUIRED_FIELDS
        return "is required and cannot be removed" if required else None
    if name in _SOURCE_OPERATIONS:
        return _source_reason(name, operation["from"])
    # add or replace: a top-level field's value must fit the field.
    if len(parts) == 1 and (reason := _FIELD_RULES[parts[0]](operation["value"])):
        return f"value {reason}"
    return None


def _source_reason(name: str, source: str) -> str | None:
    # A move removes its source, so the source must be removable; a copy could read
    # anything, but reading only editable paths keeps read-only data out of edits.
    parts = _pointer_parts(source) or []
    if not _is_editable(parts):
        return f'from "{source}" is not editable; {name} may only take values from {_EDITABLE_LIST}'
    if name == "move" and len(parts) == 1 and parts[0] in REQUIRED_FIELDS:
        return f'from "{source}" is required; moving it would remove it'
    return None


def _is_editable(parts: list[str]) -> bool:
    # Only metadata has editable insides: /status/x or /active/0 name nothing real.
    return (
        bool(parts) and parts[0] in EDITABLE_FIELDS and (len(parts) == 1 or parts[0] == "metadata")
    )


# ---------------------------------------------------------------------------
# Apply and validate


def apply_patch(document: dict[str, Any], patch: list[Operation]) -> dict[str, Any]:
    """A new document: `document` with `patch` applied, durationMs derived.

    Call `check_policy` first: this checks only that the operations are well formed and
    their values safe, not what they may edit. It applies them in order to a copy (the
    input is never changed), then validates the fields the patch changed. Raises
    PatchConflict (409) when a `test` fails, also for a missing member;
    PatchUnapplicable (422) when an operation does not fit the document; PatchRejected
    (400) when the patch is malformed, or its result breaks the field rules.
    """
    if errors := _patch_errors(patch, _shape_reason):
        raise PatchRejected(errors)
    result = _clone(document)
    for index, operation in enumerate(patch):
        result = _apply_operation(result, index, operation)
    _derive_duration(result)
    changed = _changed_fields(document, result)
    # A patch answers for what it changed: a field the upstream sent out of bounds
    # (say 70 KiB of metadata) must not block an unrelated edit of the status.
    errors = [problem for fields, problem in _document_problems(result) if fields & changed]
    if errors:
        raise PatchRejected(errors)
    return result


def validate_document(document: dict[str, Any]) -> list[Problem]:
    """Every way the editable fields of `document` break the rules, as errors."""
    return [problem for _, problem in _document_problems(document)]


def _apply_operation(document: Any, index: int, operation: Operation) -> Any:
    name, path = operation["op"], operation["path"]
    if name == "copy":
        _check_copied_value(document, index, operation)
    # Judged before applying, on the document as the operation finds it: by the time
    # jsonpatch reports a move's bad target, it has already removed the source.
    reason = _unfit_reason(document, operation)
    if reason is None:
        try:
            # In place on our own copy: a failure leaves that copy half-patched, and it
            # is thrown away, so the caller's document stays as it was.
            return jsonpatch.JsonPatch([operation]).apply(document, in_place=True)
        except jsonpatch.JsonPatchTestFailed:
            message = _test_failure(document, index, operation)
            raise PatchConflict(message, index=index, path=path) from None
        except (jsonpatch.JsonPatchException, JsonPointerException) as failure:
            reason = _missing(document, path, whole=name in ("remove", "replace"))
            # What is left is about array indexes; jsonpatch's words quote no document.
            reason = reason or _shorten(str(failure), 200)
    message = f"operation {index}: {name} {path} cannot be applied: {reason}"
    raise PatchUnapplicable(message, index=index, path=path)


def _check_copied_value(document: Any, index: int, operation: Operation) -> None:
    # Each copy can double the document; bounding what one copy duplicates keeps
    # 1,000 of them linear. A missing source is reported by _unfit_reason.
    value = _resolve(document, _pointer_parts(operation["from"]) or [])
    if isinstance(value, dict | list | str) and (reason := value_reason(value)):
        attribute = _attribute(index, operation)
        raise PatchRejected([{"attribute": attribute, "reason": f"copied value {reason}"}])


def _test_failure(document: Any, index: int, operation: Operation) -> str:
    path = operation["path"]
    actual = _resolve(document, _pointer_parts(path) or [])
    found = "nothing" if actual is _MISSING else _show(actual)
    where = path or "the document"
    return (
        f"operation {index}: test of {where} failed: "
        f"expected {_show(operation['value'])}, found {found}"
    )


def _unfit_reason(document: Any, operation: Operation) -> str | None:
    """Why an operation cannot apply to `document`, as far as paths tell, or None.

    Worked out here rather than taken from jsonpointer, whose messages can quote whole
    objects of the document (up to 64 KiB of metadata) in Python syntax.
    """
    name, path = operation["op"], operation["path"]
    if name == "test":
        return None  # a test of a missing member fails as a conflict, not here
    if name in _SOURCE_OPERATIONS:
        source = operation["from"]
        source_parts, target_parts = _pointer_parts(source) or [], _pointer_parts(path) or []
        inside = target_parts[: len(source_parts)] == source_parts
        if name == "move" and inside and len(target_parts) > len(source_parts):
            return f"cannot move {source or 'the document'} into itself"
        if missing := _missing(document, source, whole=True):
            return missing
    return _missing(document, path, whole=name in ("remove", "replace"))


def _missing(document: Any, path: str, *, whole: bool) -> str | None:
    """What is missing on the way to `path` (to its parent unless `whole`), or None."""
    parts = _pointer_parts(path) or []
    node = document
    for depth, part in enumerate(parts if whole else parts[:-1]):
        node = _child(node, part)
        if node is _MISSING:
            return f"nothing exists at {_pointer(*parts[: depth + 1])}"
    if not whole and not isinstance(node, dict | list):
        return f"{_pointer(*parts[:-1])} is neither an object nor an array"
    return None


_ARRAY_INDEX = re.compile("0|[1-9][0-9]*")


def _resolve(document: Any, parts: list[str]) -> Any:
    """The value at `parts` in `document`, or _MISSING."""
    node = document
    for part in parts:
        node = _child(node, part)
        if node is _MISSING:
            break
    return node


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list) and _ARRAY_INDEX.fullmatch(part) and int(part) < len(node):
        return node[int(part)]
    return _MISSING


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return _shorten(text, 80)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _derive_duration(document: dict[str, Any]) -> None:
    # durationMs is LaunchDarkly's, derived: it follows endedAt - startedAt.
    started, ended = document.get("startedAt"), document.get("endedAt")
    if ended is None:
        document.pop("durationMs", None)
    elif _is_integer(started) and _is_integer(ended):
        document["durationMs"] = ended - started


def _changed_fields(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {
        field
        for field in EDITABLE_FIELDS
        if not _json_equal(before.get(field, _MISSING), after.get(field, _MISSING), strict=True)
    }


def _document_problems(document: dict[str, Any]) -> list[tuple[set[str], Problem]]:
    """Each problem with the fields it is about, so a patch is blamed for its own."""
    problems: list[tuple[set[str], Problem]] = []
    for field in EDITABLE_FIELDS:
        if field not in document:
            if field in REQUIRED_FIELDS:
                problems.append(({field}, {"attribute": f"/{field}", "reason": "is required"}))
        elif reason := _field_reason(field, document[field]):
            problems.append(({field}, {"attribute": f"/{field}", "reason": reason}))
    started, ended = document.get("startedAt"), document.get("endedAt")
    if not _millis_reason(started) and not _millis_reason(ended) and ended < started:
        problem = {"attribute": "/endedAt", "reason": "must not be before startedAt"}
        problems.append(({"startedAt", "endedAt"}, problem))
    return problems
