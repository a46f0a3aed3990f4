"""Deployment events: what CI pipelines report, turned into deployments and timelines.

`deployment_event_record` takes one LaunchDarkly `PostDeploymentEventInput` (the body
of `POST /api/v2/engineering-insights/deployment-events`) and applies it to the local
cache, all in one transaction. The rules of `upstream/NOTES.md` ("Events", `active`),
and what this module decides where they leave a gap:

- Validation: `projectKey`, `environmentKey`, `applicationKey`, `version` and `eventType`
  must be present (null counts as absent); an optional field may be left out, but not
  sent as null, which the spec does not allow. Keys are non-empty strings of at most
  256 characters (the cache's columns); `version` holds only ASCII letters, digits,
  `.`, `-` and `_`; `applicationName` and `versionName` are strings of at most 256
  characters; `eventTime` is an integer of epoch milliseconds in 0..253402300799999 (a
  string, a float or a boolean is refused); `eventMetadata` and `deploymentMetadata`
  are objects bounded like edited metadata (64 KiB as JSON, 32 levels). No string may
  hold NUL characters or lone surrogates. A field the input does not define is refused,
  named: a typo such as `deploymentMetdata` would otherwise lose data without a word.
  Every problem is reported at once, as one 400.
- `started` opens a deployment: status `started`, not active, no end, no pull-request
  data (counts 0), `startedAt` = `eventTime`, `metadata` = `deploymentMetadata`.
- Kind, from the application's deployments in that environment that started no later
  than the event: `forward` when this version has none of them; otherwise `redeployment`
  when the latest of them is of this version, and `rollback` when it is of another one
  (going back to an earlier version after something else was deployed, whether that
  finished or failed). Archived deployments count: they happened.
- `finished` / `failed` close the latest open (status `started`) deployment of the same
  project, environment, application and version: `endedAt` = `eventTime`, `durationMs`
  = end - start. With none open they create a closed deployment with start = end (as
  LaunchDarkly does), its kind derived as above. An end before the open deployment's
  start is refused (400, as a PATCH with `endedAt` before `startedAt` is): silently
  clamping would hide a clock or pipeline bug behind a zero duration.
- `active`: a `finished` deployment becomes active and the application's other active
  deployments in that environment inactive, unless one of them ended after this one
  (a late-delivered event for a deployment already superseded must not take over: what
  runs is what finished last). A `failed` deployment is not active and changes nothing
  else.
- `custom` adds to the timeline of the latest deployment (by start) of that project,
  environment, application and version; with none, 404 `not_found` naming them.
- `deploymentMetadata` merges into the deployment's `metadata` on every event type:
  shallow, the event's keys win; a merge that outgrows the bounds is refused (400).
- Every event is stored as a `DeploymentEvent` row on its deployment. These are the
  deployment's history: changes made by events are data arriving from pipelines, not
  user edits, so they write no `Change` rows. (Who posted is logged; the event row has
  no column for it.)
- Idempotency: an event's fingerprint is the SHA-256 of its canonical JSON (sorted keys,
  the default made explicit: a missing `applicationKind` is `server`). With an explicit
  `eventTime`, an event whose fingerprint is already recorded is a duplicate, however
  late it comes. Without one, the same body is a duplicate only within
  `DUPLICATE_WINDOW` (10 minutes) of the first one's arrival (a pipeline retrying); a
  day later it is a real redeploy. A duplicate changes nothing and is answered as the
  original was (201).
- Concurrency: the events of one application in one environment are serialised (a
  transaction-scoped advisory lock on PostgreSQL; SQLite's IMMEDIATE transactions hold
  the database's write lock), so two pipelines cannot both make their deployment active,
  nor a retried `started` open two deployments. Rows an event changes are also
  row-locked, against concurrent PATCH edits.
- Upstream mode: the event, once valid, is forwarded to LaunchDarkly as it came and not
  recorded here; the next sync brings its effect into the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.db import connection, transaction
from django.utils import timezone

from . import patching, upstream
from .errors import InvalidRequest, NotFound
from .models import Change, Deployment, DeploymentEvent
from .representation import MAX_MILLIS, from_millis, to_millis
from .services import Actor, editing_mode, upstream_error

logger = logging.getLogger(__name__)

STARTED: Final = "started"
FINISHED: Final = "finished"
FAILED: Final = "failed"
CUSTOM: Final = "custom"
EVENT_TYPES: Final = (STARTED, FAILED, FINISHED, CUSTOM)  # the spec's order
APPLICATION_KINDS: Final = ("server", "browser", "mobile")
DEFAULT_APPLICATION_KIND: Final = "server"

FORWARD: Final = "forward"
REDEPLOYMENT: Final = "redeployment"
ROLLBACK: Final = "rollback"

# A pipeline retrying a post without `eventTime` does so within minutes; the same body
# much later is the same version deployed again.
DUPLICATE_WINDOW: Final = timedelta(minutes=10)

# LaunchDarkly: "only letters, numbers, periods, hyphens, or underscores". ASCII only:
# a version ends up in URLs, tags and shell scripts.
VERSION_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]+", re.ASCII)

Problem = dict[str, str]  # {"attribute", "reason"}, as in LaunchDarkly's 400s


@dataclass(frozen=True)
class EventInput:
    """A validated `PostDeploymentEventInput`, defaults applied."""

    project_key: str
    environment_key: str
    application_key: str
    version: str
    event_type: str
    application_kind: str
    application_name: str
    version_name: str
    event_time: datetime | None  # None: not sent, "when it is processed"
    event_metadata: dict[str, Any] | None
    deployment_metadata: dict[str, Any] | None
    fingerprint: str

    @property
    def scope(self) -> dict[str, str]:
        """The application in its environment: the unit of `active` and of locking."""
        return {
            "project_key": self.project_key,
            "environment_key": self.environment_key,
            "application_key": self.application_key,
        }


@dataclass(frozen=True)
class EventOutcome:
    deployment: Deployment
    event: DeploymentEvent
    # True when the event was already recorded: nothing was written this time.
    duplicate: bool = False
    # True when the event created its deployment (`started`, or a close with none open).
    opened: bool = False


def _forward(event: dict[str, Any], actor: Actor) -> None:
    """Upstream mode: LaunchDarkly records the event; the next sync brings its effect into
    the cache. Recording it here too would diverge from LaunchDarkly's own rules."""
    client = upstream.client_from_settings()
    try:
        client.post_deployment_event(event)
    except upstream.UpstreamError as error:
        raise upstream_error(error) from error
    finally:
        client.close()
    logger.info("Deployment event forwarded to LaunchDarkly for %s", actor)


def deployment_event_record(*, event: Any, actor: Actor) -> EventOutcome | None:
    """Records one deployment event from a pipeline; the module docstring has the rules.

    `actor` is who posted it (a user, or a service's name), for the log.
    Raises, having changed nothing:
    - InvalidRequest (400) for a body that is not a valid `PostDeploymentEventInput`
      (every problem listed in `errors`), an end before its deployment's start, or
      deployment metadata that the merge would make too large;
    - NotFound (404) for a `custom` event with no deployment of its version to join;
    - in upstream mode the event is forwarded to LaunchDarkly and None returned; its
      failures come back as services.upstream_error maps them (429, 502, or
      LaunchDarkly's own 400/404).
    """
    parsed = _parse_event(event)
    if editing_mode() == Change.Mode.UPSTREAM:
        _forward(event, actor)
        return None
    now = _now()
    with transaction.atomic():
        _lock_application(parsed)
        recorded = _recorded_duplicate(parsed, now)
        if recorded is not None:
            outcome = EventOutcome(recorded.deployment, recorded, duplicate=True)
        else:
            at = now if parsed.event_time is None else parsed.event_time
            outcome = _HANDLERS[parsed.event_type](parsed, at)
    logger.info(
        "Deployment event %s %s of %s in %s/%s from %s%s",
        parsed.event_type,
        parsed.version,
        parsed.application_key,
        parsed.project_key,
        parsed.environment_key,
        _actor_label(actor),
        " (duplicate, ignored)" if outcome.duplicate else "",
    )
    return outcome


# ---------------------------------------------------------------------------
# Validation


def _column_limit(model: type, attribute: str) -> int:
    return model._meta.get_field(attribute).max_length


def _string_reason(value: Any, *, limit: int, empty: bool) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not value and not empty:
        return "must not be empty"
    if len(value) > limit:
        return f"must be at most {limit} characters"
    return patching.string_reason(value)


def _key(attribute: str) -> Callable[[Any], str | None]:
    limit = _column_limit(Deployment, attribute)
    return lambda value: _string_reason(value, limit=limit, empty=False)


def _name(attribute: str) -> Callable[[Any], str | None]:
    limit = _column_limit(DeploymentEvent, attribute)
    return lambda value: _string_reason(value, limit=limit, empty=True)


def _version_reason(value: Any) -> str | None:
    limit = _column_limit(Deployment, "application_version")
    reason = _string_reason(value, limit=limit, empty=False)
    if reason is None and not VERSION_PATTERN.fullmatch(value):
        return "must hold only letters, digits, periods (.), hyphens (-) and underscores (_)"
    return reason


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def reason(value: Any) -> str | None:
        if isinstance(value, str) and value in choices:
            return None
        return f"must be one of {', '.join(choices)}"

    return reason


def _millis_reason(value: Any) -> str | None:
    # bool is an int in Python, never in JSON; the spec's example shows a string, but
    # its type is an integer and LaunchDarkly's generated clients send one.
    if isinstance(value, str):
        return "must be an integer of epoch milliseconds, not a string"
    if not isinstance(value, int) or isinstance(value, bool):
        return "must be an integer of epoch milliseconds"
    if not 0 <= value <= MAX_MILLIS:
        return f"must be epoch milliseconds between 0 and {MAX_MILLIS} (year 9999)"
    return None


def _object_reason(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "must be a JSON object"
    # The same bounds as edited metadata: what an event stores, a PATCH can write back.
    return patching.value_reason(value, max_bytes=patching.MAX_METADATA_BYTES)


# Every field of PostDeploymentEventInput, with its judge; the required ones first.
REQUIRED_FIELDS: Final = ("projectKey", "environmentKey", "applicationKey", "version", "eventType")
FIELDS: Final[dict[str, Callable[[Any], str | None]]] = {
    "projectKey": _key("project_key"),
    "environmentKey": _key("environment_key"),
    "applicationKey": _key("application_key"),
    "version": _version_reason,
    "eventType": _choice(EVENT_TYPES),
    "applicationName": _name("application_name"),
    "applicationKind": _choice(APPLICATION_KINDS),
    "versionName": _name("version_name"),
    "eventTime": _millis_reason,
    "eventMetadata": _object_reason,
    "deploymentMetadata": _object_reason,
}


def _parse_event(event: Any) -> EventInput:
    """The validated event; raises InvalidRequest naming every problem."""
    if not isinstance(event, dict):
        raise InvalidRequest(
            "A deployment event must be a JSON object",
            errors=[{"attribute": "body", "reason": "must be a JSON object"}],
        )
    problems: list[Problem] = [
        {"attribute": _shown(key), "reason": "is not a field of a deployment event"}
        for key in event
        if key not in FIELDS
    ]
    values: dict[str, Any] = {}
    for key, judge in FIELDS.items():
        value = event.get(key)
        if value is None and (key in REQUIRED_FIELDS or key not in event):
            if key in REQUIRED_FIELDS:
                problems.append({"attribute": key, "reason": "must be present"})
            continue
        # An optional field sent as null is refused like any other wrong type: the spec
        # does not make it nullable, and LaunchDarkly's clients leave unset fields out.
        reason = judge(value)
        if reason:
            problems.append({"attribute": key, "reason": reason})
        else:
            values[key] = value
    if problems:
        raise InvalidRequest(_summary(problems), errors=problems)

    values.setdefault("applicationKind", DEFAULT_APPLICATION_KIND)
    event_time = values.get("eventTime")
    return EventInput(
        project_key=values["projectKey"],
        environment_key=values["environmentKey"],
        application_key=values["applicationKey"],
        version=values["version"],
        event_type=values["eventType"],
        application_kind=values["applicationKind"],
        application_name=values.get("applicationName", ""),
        version_name=values.get("versionName", ""),
        event_time=None if event_time is None else from_millis(event_time),
        event_metadata=values.get("eventMetadata"),
        deployment_metadata=values.get("deploymentMetadata"),
        fingerprint=_fingerprint(values),
    )


def _fingerprint(values: dict[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON: the same event, however it was spelled
    (key order, whitespace, a default left out), has the same fingerprint."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _shown(key: str) -> str:
    """An unknown field's name, safe to echo: escaped (a lone surrogate cannot be
    encoded in a response) and shortened."""
    shown = key.encode("utf-8", "backslashreplace").decode("utf-8")
    return shown if len(shown) <= 64 else shown[:63] + "…"


def _summary(problems: list[Problem]) -> str:
    shown = "; ".join(f"{p['attribute']} {p['reason']}" for p in problems[:3])
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return f"Invalid deployment event: {shown}{more}"


# ---------------------------------------------------------------------------
# Recording


def _now() -> datetime:
    # Whole milliseconds, as the API speaks them, so durations derived from a default
    # time match what the representation shows.
    return from_millis(to_millis(timezone.now()))


def _lock_application(event: EventInput) -> None:
    """Serialises events for one application in one environment until the transaction
    ends.

    Row locks alone cannot: the rows that matter may not exist yet (the deployment a
    concurrent `started` is creating) or may stop matching (an `active` flag another
    event is clearing), and READ COMMITTED does not see either.
    """
    if connection.vendor == "postgresql":
        name = "\0".join(("deployment-events", *event.scope.values()))
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        # A collision only makes two applications wait for each other; it is harmless.
        key = int.from_bytes(digest[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    elif connection.vendor != "sqlite":
        # Elsewhere, lock what exists: weaker (a new row escapes it), but never worse.
        list(Deployment.objects.select_for_update().filter(**event.scope).values_list("pk"))
    # SQLite: dashboard/settings.py makes transactions IMMEDIATE, which takes the
    # database's write lock at BEGIN; every writer already waits its turn.


def _recorded_duplicate(event: EventInput, now: datetime) -> DeploymentEvent | None:
    recorded = DeploymentEvent.objects.filter(fingerprint=event.fingerprint)
    if event.event_time is None:
        recorded = recorded.filter(received_at__gte=now - DUPLICATE_WINDOW)
    return recorded.select_related("deployment").order_by("-received_at", "-id").first()


def _record_started(event: EventInput, at: datetime) -> EventOutcome:
    deployment = Deployment.objects.create(
        **event.scope,
        application_version=event.version,
        status=STARTED,
        kind=_derive_kind(event, at),
        active=False,
        started_at=at,
        metadata=_merged_metadata(None, event.deployment_metadata),
    )
    return EventOutcome(deployment, _store_event(deployment, event, at), opened=True)


def _record_end(event: EventInput, at: datetime) -> EventOutcome:
    deployment = (
        Deployment.objects.select_for_update(no_key=True)
        .filter(**event.scope, application_version=event.version, status=STARTED)
        .order_by("-started_at", "-id")
        .first()
    )
    opened = deployment is None
    if deployment is None:
        deployment = Deployment(
            **event.scope,
            application_version=event.version,
            kind=_derive_kind(event, at),
            started_at=at,
        )
    elif at < deployment.started_at:
        raise InvalidRequest(
            "The deployment cannot end before it started",
            errors=[
                {
                    "attribute": "eventTime",
                    "reason": (
                        f"must not be before the open deployment's start "
                        f"({to_millis(deployment.started_at)})"
                    ),
                }
            ],
        )
    deployment.status = event.event_type
    deployment.ended_at = at
    deployment.duration_ms = to_millis(at) - to_millis(deployment.started_at)
    deployment.metadata = _merged_metadata(deployment.metadata, event.deployment_metadata)
    deployment.active = event.event_type == FINISHED and _take_over(deployment, event)
    if opened:
        deployment.save(force_insert=True)
    else:
        deployment.save(update_fields=["status", "ended_at", "duration_ms", "metadata", "active"])
    return EventOutcome(deployment, _store_event(deployment, event, at), opened=opened)


def _record_custom(event: EventInput, at: datetime) -> EventOutcome:
    deployment = (
        Deployment.objects.select_for_update(no_key=True)
        .filter(**event.scope, application_version=event.version)
        .order_by("-started_at", "-id")
        .first()
    )
    if deployment is None:
        raise NotFound(
            f"No deployment of version {event.version!r} of {event.application_key!r} in "
            f"{event.project_key}/{event.environment_key} to add a custom event to; "
            f"send its started (or finished) event first"
        )
    if event.deployment_metadata is not None:
        deployment.metadata = _merged_metadata(deployment.metadata, event.deployment_metadata)
        deployment.save(update_fields=["metadata"])
    return EventOutcome(deployment, _store_event(deployment, event, at))


_HANDLERS: Final[dict[str, Callable[[EventInput, datetime], EventOutcome]]] = {
    STARTED: _record_started,
    FINISHED: _record_end,
    FAILED: _record_end,
    CUSTOM: _record_custom,
}


def _derive_kind(event: EventInput, at: datetime) -> str:
    earlier = Deployment.objects.filter(**event.scope, started_at__lte=at)
    if not earlier.filter(application_version=event.version).exists():
        return FORWARD
    latest = earlier.order_by("-started_at", "-id").values_list("application_version", flat=True)
    return REDEPLOYMENT if latest.first() == event.version else ROLLBACK


def _take_over(deployment: Deployment, event: EventInput) -> bool:
    """Makes `deployment`, finishing now, the application's active one in its
    environment, unless another active one ended later; says whether it did."""
    others = Deployment.objects.filter(**event.scope, active=True).exclude(pk=deployment.pk)
    if others.filter(ended_at__gt=deployment.ended_at).exists():
        return False
    # All of them: imported or edited data may hold more than one.
    others.update(active=False)
    return True


def _merged_metadata(current: Any, incoming: dict[str, Any] | None) -> Any:
    if incoming is None:
        return current
    merged = {**(current if isinstance(current, dict) else {}), **incoming}
    reason = patching.value_reason(merged, max_bytes=patching.MAX_METADATA_BYTES)
    if reason:
        raise InvalidRequest(
            "The deployment's metadata would be too large",
            errors=[
                {
                    "attribute": "deploymentMetadata",
                    "reason": f"merged into the deployment's metadata, the result {reason}",
                }
            ],
        )
    return merged


def _store_event(deployment: Deployment, event: EventInput, at: datetime) -> DeploymentEvent:
    return DeploymentEvent.objects.create(
        deployment=deployment,
        event_type=event.event_type,
        event_time=at,
        application_name=event.application_name,
        application_kind=event.application_kind,
        version_name=event.version_name,
        event_metadata=event.event_metadata,
        fingerprint=event.fingerprint,
    )


def _actor_label(actor: Any) -> str:
    get_username = getattr(actor, "get_username", None)
    return get_username() if callable(get_username) else str(actor)
