"""Query parameters of the deployment endpoints, parsed and checked in one pass.

Every problem is collected, one `{"attribute", "reason"}` per problem, and raised as one
`InvalidRequest`: a caller fixes everything at once. Nothing reaches the database
unchecked: PostgreSQL raises on a NUL character in a string literal, so values are
screened first.

Decisions (see also `upstream/NOTES.md`):
- `from` and `to` are inclusive bounds on `startedAt`, to the millisecond a client sees.
  `to` defaults to now and `from` to seven days before `to` (LaunchDarkly's "7 days ago"
  when `to` is absent).
- `applicationKey`, `kind`, `status` and `expand` take comma-separated lists (the spec
  gives `kind` and `status` one value; a list is a superset), and a repeated parameter
  adds to its list. Any other known parameter given twice is an error: which was meant?
- An empty value counts as absent, except for integers, where it is an error.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import QueryDict
from django.utils import timezone

from ..errors import InvalidRequest
from ..patching import string_reason
from ..queries import DeploymentFilter
from ..representation import EXPANDABLE, MAX_MILLIS, from_millis, to_millis

MAX_VALUE_LENGTH = 1_000
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
DEFAULT_WINDOW = timedelta(days=7)

# ASCII digits only: int() would also take "1_000", " 5" and other scripts' digits.
INTEGER = re.compile(r"-?[0-9]{1,20}")

Problem = dict[str, str]


@dataclass(frozen=True)
class ListParams:
    """A checked list request: what to show, and which page of it."""

    where: DeploymentFilter
    limit: int
    expand: tuple[str, ...]
    after: uuid.UUID | None
    before: uuid.UUID | None


class _Reader:
    """Reads parameters from a query string, collecting a problem per bad one."""

    def __init__(self, query: QueryDict):
        self.query = query
        self.errors: list[Problem] = []
        self.unsafe = self._screen()

    def fail(self, attribute: str, reason: str) -> None:
        self.errors.append({"attribute": attribute, "reason": reason})

    def _screen(self) -> set[str]:
        """Names of the parameters (known or not) whose name or values are unusable."""
        unsafe: set[str] = set()
        for name, values in self.query.lists():
            for text in (name, *values):
                reason = _unsafe_reason(text)
                if reason:
                    attribute = name if _unsafe_reason(name) is None else "query"
                    self.fail(attribute, reason)
                    unsafe.add(name)
                    break
        return unsafe

    def text(self, name: str) -> str | None:
        """One value; None when absent, empty, unusable or repeated."""
        values = [] if name in self.unsafe else self.query.getlist(name)
        if len(values) > 1:
            self.fail(name, "must be given at most once")
            return None
        return values[0] if values and values[0] != "" else None

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list, over every occurrence; blanks are dropped."""
        values = [] if name in self.unsafe else self.query.getlist(name)
        items = (item.strip() for value in values for item in value.split(","))
        return tuple(dict.fromkeys(item for item in items if item))

    def required(self, name: str) -> str:
        if name in self.unsafe:
            return ""
        if not any(self.query.getlist(name)):
            self.fail(name, "is required")
            return ""
        return self.text(name) or ""

    def integer(self, name: str, low: int, high: int, reason: str) -> int | None:
        if name in self.unsafe or name not in self.query:
            return None
        values = self.query.getlist(name)
        if len(values) > 1:
            self.fail(name, "must be given at most once")
            return None
        if not INTEGER.fullmatch(values[0]):
            self.fail(name, "must be an integer")
            return None
        number = int(values[0])
        if not low <= number <= high:
            self.fail(name, reason)
            return None
        return number

    def deployment_id(self, name: str) -> uuid.UUID | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.fail(name, "must be a deployment id (a UUID)")
            return None

    def expand(self) -> tuple[str, ...]:
        wanted = self.items("expand")
        for value in wanted:
            if value not in EXPANDABLE:
                self.fail("expand", f'"{value[:40]}" is not one of {", ".join(EXPANDABLE)}')
        return tuple(value for value in wanted if value in EXPANDABLE)

    def raise_errors(self) -> None:
        if self.errors:
            raise InvalidRequest("The query parameters are not valid", errors=self.errors)


def _unsafe_reason(text: str) -> str | None:
    if len(text) > MAX_VALUE_LENGTH:
        return f"must be at most {MAX_VALUE_LENGTH:,} characters"
    return string_reason(text)


def list_params(query: QueryDict) -> ListParams:
    """The list's parameters; raises InvalidRequest naming every bad one."""
    reader = _Reader(query)
    project_key = reader.required("projectKey")
    environment_key = reader.required("environmentKey")
    limit = reader.integer("limit", 1, MAX_LIMIT, f"must be between 1 and {MAX_LIMIT}")
    expand = reader.expand()
    window = _window(reader)
    after, before = reader.deployment_id("after"), reader.deployment_id("before")
    if after is not None and before is not None:
        reader.fail("before", "cannot be combined with after: page one way at a time")
    reader.raise_errors()
    started_from, to = window
    return ListParams(
        where=DeploymentFilter(
            project_key=project_key,
            environment_key=environment_key,
            application_keys=reader.items("applicationKey"),
            kinds=reader.items("kind"),
            statuses=reader.items("status"),
            started_from=from_millis(started_from),
            # `to` is inclusive to the millisecond shown, which a stored time with
            # microseconds may lie inside; at the very end of time nothing lies beyond.
            started_before=from_millis(to + 1) if to < MAX_MILLIS else None,
        ),
        limit=DEFAULT_LIMIT if limit is None else limit,
        expand=expand,
        after=after,
        before=before,
    )


def _window(reader: _Reader) -> tuple[int, int]:
    """(from, to) in epoch milliseconds, both inclusive, defaults applied."""
    reason = f"must be epoch milliseconds between 0 and {MAX_MILLIS}"
    given_from = reader.integer("from", 0, MAX_MILLIS, reason)
    given_to = reader.integer("to", 0, MAX_MILLIS, reason)
    to = to_millis(timezone.now()) if given_to is None else given_to
    if given_from is None:
        return max(0, to - DEFAULT_WINDOW // timedelta(milliseconds=1)), to
    if given_from > to:
        # Only a `to` the caller gave (or now) is compared; a bad `to` was reported.
        if "to" not in reader.query or given_to is not None:
            reader.fail("from", "must not be later than to")
    return given_from, to


def expand_params(query: QueryDict) -> tuple[str, ...]:
    """`expand` alone (the single-deployment GET); raises InvalidRequest when bad."""
    reader = _Reader(query)
    expand = reader.expand()
    reader.raise_errors()
    return expand


MAX_COMMENT_LENGTH = 2_000
ENVELOPE_KEYS = ("comment", "patch")


@dataclass(frozen=True)
class PatchBody:
    """A PATCH body: the JSON Patch, and why it was sent (LaunchDarkly's `comment`)."""

    patch: Any
    comment: str = ""


def patch_body(data: Any) -> PatchBody:
    """The patch and comment from a bare JSON Patch array or LaunchDarkly's envelope
    `{"comment": "...", "patch": [...]}`. Raises InvalidRequest for a bad envelope.

    Anything that is neither an array nor an object passes through as the patch: the
    service rejects it, and records the attempt as sent.
    """
    if not isinstance(data, dict):
        return PatchBody(patch=data)
    errors: list[Problem] = [
        {"attribute": str(key)[:100], "reason": "is not allowed; send comment and patch only"}
        for key in data
        if key not in ENVELOPE_KEYS
    ]
    comment = data.get("comment", "")
    if not isinstance(comment, str):
        errors.append({"attribute": "comment", "reason": "must be a string"})
    elif len(comment) > MAX_COMMENT_LENGTH:
        errors.append(
            {"attribute": "comment", "reason": f"must be at most {MAX_COMMENT_LENGTH:,} characters"}
        )
    elif reason := string_reason(comment):
        errors.append({"attribute": "comment", "reason": reason})
    if not isinstance(data.get("patch"), list):
        errors.append({"attribute": "patch", "reason": "must be a JSON array of operations"})
    if errors:
        raise InvalidRequest("The request body is not a valid patch", errors=errors)
    return PatchBody(patch=data["patch"], comment=comment)
