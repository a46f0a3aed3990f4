"""Domain errors, each carrying the LaunchDarkly error body it becomes.

Services raise these; the API's exception handler and the pages turn them into
`{"code", "message"}` bodies (400 adds `errors: [{"attribute", "reason"}]`) or form
messages. Nothing else decides an error's code or status.
"""

from __future__ import annotations


class DeploymentError(Exception):
    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, errors: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def body(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.status == 400:
            body["errors"] = self.errors
        return body


class InvalidRequest(DeploymentError):
    code = "invalid_request"
    status = 400


class NotFound(DeploymentError):
    code = "not_found"
    status = 404


class OptimisticLockingError(DeploymentError):
    """A `test` operation failed: the deployment changed since the user saw it."""

    code = "optimistic_locking_error"
    status = 409


class PatchFailed(DeploymentError):
    """A well-formed, allowed patch that cannot be applied to this deployment."""

    code = "patch_failed"
    status = 422


class RateLimited(DeploymentError):
    """LaunchDarkly's rate limit, passed on with its wait."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, int(retry_after + 0.999)))}


class UpstreamFailed(DeploymentError):
    """LaunchDarkly is down, unreachable, answered nonsense, or refused our token."""

    code = "upstream_unavailable"
    status = 502
