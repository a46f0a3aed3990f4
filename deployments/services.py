"""Write paths: every edit of a deployment, from any page, bulk action or API call.

`deployment_update` is the one way a deployment changes: check the patch against the
policy, apply it under a row lock, re-validate, save, and record the attempt, whatever
its outcome. `deployment_revert` undoes a recorded change as a new change.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from . import cache, patching, upstream
from .errors import (
    DeploymentError,
    InvalidRequest,
    NotFound,
    OptimisticLockingError,
    PatchFailed,
    RateLimited,
    UpstreamFailed,
)
from .models import Change, Deployment
from .representation import RepresentationError, deployment_rep, parse_deployment

logger = logging.getLogger(__name__)

# The model attributes a patch can change (durationMs follows endedAt).
EDITABLE_ATTRIBUTES = [
    "status",
    "kind",
    "active",
    "archived",
    "started_at",
    "ended_at",
    "duration_ms",
    "metadata",
]

Actor = AbstractBaseUser | str  # a signed-in user, or the name of a service


def editing_mode() -> str:
    """Upstream when a LaunchDarkly token is configured, local otherwise."""
    return Change.Mode.UPSTREAM if settings.LAUNCHDARKLY_API_TOKEN else Change.Mode.LOCAL


@dataclass(frozen=True)
class _Attempt:
    deployment_id: uuid.UUID
    patch: Any
    actor: Actor
    reason: str
    source: str
    reverts: Change | None


def deployment_update(
    *,
    deployment_id: uuid.UUID | str,
    patch: Any,
    actor: Actor,
    reason: str = "",
    source: str = Change.Source.API,
    reverts: Change | None = None,
) -> Change:
    """Applies a JSON Patch to one deployment and records the attempt.

    Returns the applied `Change` (its `after` is the new LaunchDarkly document).
    Raises, having changed nothing but the change log:
    - InvalidRequest (400) when the patch is malformed or edits what may not be edited,
      with one entry in `errors` per offending operation;
    - NotFound (404) for an unknown deployment;
    - OptimisticLockingError (409) when a `test` operation fails;
    - PatchFailed (422) when the patch cannot be applied to this deployment;
    - in upstream mode also RateLimited (429) and UpstreamFailed (502), with LaunchDarkly's
      own 400/404/409/422 passed on as above.
    """
    attempt = _Attempt(
        deployment_id=_parse_id(deployment_id),
        patch=patch,
        actor=actor,
        reason=reason,
        source=source,
        reverts=reverts,
    )
    try:
        patching.check_policy(patch)
        if editing_mode() == Change.Mode.UPSTREAM:
            return _apply_upstream(attempt)
        with transaction.atomic():
            return _apply_locally(attempt)
    except (patching.PatchError, DeploymentError) as raised:
        error = _as_domain_error(raised)
        _record_failure(attempt, error)
        raise error from raised


def deployment_revert(*, change_id: int, actor: Actor, reason: str = "") -> Change:
    """Undoes an applied change by applying its inverse as a new, recorded change.

    The inverse is guarded by `test` operations of the values the change left, so a
    deployment edited since then is not silently overwritten.
    Raises NotFound for an unknown change, InvalidRequest for a change that did not
    apply, OptimisticLockingError when the deployment changed since.
    """
    try:
        change = Change.objects.get(pk=change_id)
    except Change.DoesNotExist:
        raise NotFound(f"Change {change_id} does not exist") from None
    if not change.succeeded:
        raise InvalidRequest(
            "Only applied changes can be reverted",
            errors=[{"attribute": "change", "reason": f"change {change_id} was {change.outcome}"}],
        )
    try:
        return deployment_update(
            deployment_id=change.deployment_id,
            patch=change.inverse_patch or [],
            actor=actor,
            reason=reason or f"Revert change {change.pk}",
            source=Change.Source.REVERT,
            reverts=change,
        )
    except OptimisticLockingError as error:
        raise OptimisticLockingError(
            f"The deployment changed after change {change.pk}; reverting it would "
            f"overwrite newer edits ({error.message})"
        ) from error


def _apply_locally(attempt: _Attempt) -> Change:
    # The row lock makes the `test` guards meaningful: they are checked against the row
    # as it is now, and nobody can change it until this transaction ends. (On SQLite
    # the IMMEDIATE transaction mode takes the database write lock instead.)
    deployment = (
        Deployment.objects.select_for_update(no_key=True).filter(pk=attempt.deployment_id).first()
    )
    if deployment is None:
        raise NotFound(f"Deployment {attempt.deployment_id} does not exist")
    before = deployment_rep(deployment)
    after = patching.apply_patch(before, attempt.patch)
    for attribute, value in _editable_values(after, deployment.project_key).items():
        setattr(deployment, attribute, value)
    deployment.save(update_fields=EDITABLE_ATTRIBUTES)
    after = deployment_rep(deployment)
    return Change.objects.create(
        **_attempt_fields(attempt),
        before=before,
        after=after,
        inverse_patch=patching.invert_patch(before, after),
        outcome=Change.Outcome.APPLIED,
    )


def _apply_upstream(attempt: _Attempt) -> Change:
    """LaunchDarkly applies the patch; the deployment it returns replaces the cached one.

    No row lock is held across the HTTP call (LaunchDarkly's own `test` operations guard
    against concurrent edits there). A PATCH whose answer was lost is settled by reading
    the deployment again: stored and recorded if it landed, an error if it did not.
    """
    deployment = Deployment.objects.filter(pk=attempt.deployment_id).first()
    if deployment is None:
        raise NotFound(
            f"Deployment {attempt.deployment_id} is not in the cache: sync its scope first"
        )
    before = deployment_rep(deployment)
    client = upstream.client_from_settings()
    try:
        returned = client.patch_deployment(
            str(attempt.deployment_id), attempt.patch, comment=attempt.reason
        )
    except upstream.UpstreamPatchUncertain as uncertain:
        if not (uncertain.landed and uncertain.document):
            raise UpstreamFailed(uncertain.message) from uncertain
        returned = uncertain.document
    except upstream.UpstreamError as error:
        raise upstream_error(error) from error
    finally:
        client.close()
    try:
        graph = parse_deployment(returned, project_key=deployment.project_key)
    except RepresentationError as error:
        raise UpstreamFailed(
            f"LaunchDarkly returned a deployment that is not valid: {error}"
        ) from error
    with transaction.atomic():
        cache.cache_graphs([graph])
        after = deployment_rep(Deployment.objects.get(pk=attempt.deployment_id))
        return Change.objects.create(
            **_attempt_fields(attempt),
            before=before,
            after=after,
            inverse_patch=patching.invert_patch(before, after),
            outcome=Change.Outcome.APPLIED,
            upstream_status=200,
        )


def upstream_error(error: upstream.UpstreamError) -> DeploymentError:
    """LaunchDarkly's failure as this API's error: its own code where it gave one."""
    if isinstance(error, upstream.UpstreamRejected):
        kind = {409: OptimisticLockingError, 422: PatchFailed}.get(error.status, InvalidRequest)
        return kind(error.message, errors=error.errors or None)
    if isinstance(error, upstream.UpstreamNotFound):
        return NotFound(error.message)
    if isinstance(error, upstream.UpstreamRateLimited):
        return RateLimited(error.message, retry_after=error.retry_after)
    return UpstreamFailed(error.message)


def _editable_values(document: dict, project_key: str) -> dict[str, Any]:
    """Model values of the editable fields, after re-validating the whole document."""
    try:
        graph = parse_deployment(document, project_key=project_key)
    except RepresentationError as error:
        raise InvalidRequest(
            "The patched deployment is not valid",
            errors=[{"attribute": f"/{e.attribute}", "reason": e.reason} for e in error.errors],
        ) from error
    return {attribute: getattr(graph.deployment, attribute) for attribute in EDITABLE_ATTRIBUTES}


def _as_domain_error(error: Exception) -> DeploymentError:
    if isinstance(error, DeploymentError):
        return error
    if isinstance(error, patching.PatchConflict):
        return OptimisticLockingError(error.message)
    if isinstance(error, patching.PatchUnapplicable):
        return PatchFailed(error.message)
    if isinstance(error, patching.PatchRejected):
        return InvalidRequest(error.message, errors=error.errors)
    raise TypeError(f"not a deployment error: {error!r}")


FAILURE_OUTCOMES = {
    InvalidRequest: Change.Outcome.REJECTED,
    NotFound: Change.Outcome.NOT_FOUND,
    OptimisticLockingError: Change.Outcome.CONFLICT,
    PatchFailed: Change.Outcome.FAILED,
    RateLimited: Change.Outcome.UPSTREAM_ERROR,
    UpstreamFailed: Change.Outcome.UPSTREAM_ERROR,
}


def _record_failure(attempt: _Attempt, error: DeploymentError) -> None:
    # Written after the edit's transaction rolled back, so it survives the failure.
    Change.objects.create(
        **_attempt_fields(attempt),
        outcome=FAILURE_OUTCOMES.get(type(error), Change.Outcome.FAILED),
        upstream_status=getattr(error.__cause__, "status", None)
        if isinstance(error.__cause__, upstream.UpstreamError)
        else None,
        error_code=error.code,
        error_message=error.message,
        error_details=error.errors or None,
    )


def _attempt_fields(attempt: _Attempt) -> dict[str, Any]:
    user = attempt.actor if isinstance(attempt.actor, AbstractBaseUser) else None
    return {
        "deployment_id": attempt.deployment_id,
        "actor": user,
        "actor_label": user.get_username() if user else str(attempt.actor),
        "source": attempt.source,
        "mode": editing_mode(),
        "reason": attempt.reason,
        "patch": _storable(attempt.patch),
        "reverts": attempt.reverts,
    }


def _parse_id(deployment_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(deployment_id, uuid.UUID):
        return deployment_id
    try:
        return uuid.UUID(str(deployment_id))
    except ValueError:
        # Nothing to attach a record to: an id that is not a UUID names no deployment.
        raise NotFound(f"Deployment {deployment_id!r} does not exist") from None


def _storable(value: Any) -> Any:
    """The patch as the change log can hold it, even when it is hostile.

    PostgreSQL's jsonb refuses NUL characters and lone surrogates, and very deep nesting
    overflows the encoder; a rejected patch must still be recorded, so such strings are
    replaced and an unencodable patch is kept as a truncated description.
    """
    try:
        encoded = json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError, TypeError):
        return {"unstorable": repr(value)[:1000]}
    cleaned = encoded.encode("utf-8", "replace").decode("utf-8").replace("\\u0000", "\ufffd")
    return json.loads(cleaned)
