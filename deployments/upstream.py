"""LaunchDarkly's REST API, for upstream mode: the only module that speaks HTTP.

One `requests.Session` per client, headers set once, a `(connect, read)` timeout on
every call. Every failure becomes a typed `UpstreamError`, so callers never see
`requests` exceptions. Reads are retried on 429, 502, 503, 504 and connection errors,
with exponential backoff and full jitter, honouring `Retry-After` (seconds) and
`X-Ratelimit-Reset` (epoch ms), bounded in attempts and in total time. A PATCH is never
retried blindly: when it fails after it may have been sent, the deployment is read
again and the error says whether the change landed.

The token is sent and never logged, nor put in any message.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from jsonpointer import JsonPointerException, resolve_pointer

logger = logging.getLogger(__name__)

PRODUCT = "deployments-dashboard"
VERSION = "0.1.0"
PREFIX = "/api/v2/engineering-insights"
EXPAND_ALL = "pullRequests,flagReferences"
PAGE_SIZE = 100  # LaunchDarkly's maximum
# (connect, read) seconds: a connection is quick or not coming; a full expanded page
# can take LaunchDarkly a while.
DEFAULT_TIMEOUT = (3.05, 30.0)


# ---------------------------------------------------------------------------
# Errors


class UpstreamError(Exception):
    """LaunchDarkly could not do what was asked; `message` is for a person to read."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class UpstreamUnavailable(UpstreamError):
    """Timeouts, refused or dropped connections, 5xx, and bodies that are not JSON."""


class UpstreamRateLimited(UpstreamError):
    """429 still, after the retries allowed; `retry_after` is the wait LaunchDarkly asked."""

    def __init__(self, message: str, *, retry_after: float, status: int = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class UpstreamNotFound(UpstreamError):
    pass


class UpstreamAuthFailed(UpstreamError):
    """401 or 403: the token is wrong, revoked, or lacks the scope."""


class UpstreamRejected(UpstreamError):
    """400, 409 or 422: LaunchDarkly refused the request, saying why."""

    def __init__(self, message: str, *, status: int, code: str, errors: list[dict]):
        super().__init__(message, status=status)
        self.code = code
        self.errors = errors


class UpstreamPatchUncertain(UpstreamError):
    """A PATCH failed after it may have been sent. The deployment was read again:
    `landed` says whether its values now match what the patch sets (None when even the
    read failed), and `document` is what LaunchDarkly holds now (None likewise)."""

    def __init__(self, message: str, *, landed: bool | None, document: dict | None):
        super().__init__(message)
        self.landed = landed
        self.document = document


# ---------------------------------------------------------------------------
# Retry policy


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # including the first
    base_delay: float = 0.5  # seconds; doubles each retry, with full jitter
    max_delay: float = 30.0  # one wait, at most
    total_budget: float = 90.0  # seconds of waiting across the retries of one call

    def backoff(self, retry: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**retry))


RETRIED_STATUSES = {429, 502, 503, 504}


@dataclass
class CallStats:
    """What the client went through, for sync summaries and the health view."""

    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0
    # From sending a request to having its whole answer (not parsed yet): how much of
    # a sync LaunchDarkly's side took.
    answer_seconds: float = 0.0


# ---------------------------------------------------------------------------
# The client


class NotConfigured(Exception):
    """Upstream mode needs LAUNCHDARKLY_API_TOKEN."""


def client_from_settings() -> LaunchDarklyClient:
    """A client for LAUNCHDARKLY_BASE_URL with LAUNCHDARKLY_API_TOKEN, read now.
    Raises NotConfigured without a token."""
    from django.conf import settings

    if not settings.LAUNCHDARKLY_API_TOKEN:
        raise NotConfigured("LAUNCHDARKLY_API_TOKEN is not set: this dashboard is in local mode")
    return LaunchDarklyClient(
        base_url=settings.LAUNCHDARKLY_BASE_URL,
        token=settings.LAUNCHDARKLY_API_TOKEN,
        timeout=DEFAULT_TIMEOUT,
    )


@dataclass
class LaunchDarklyClient:
    base_url: str
    token: str = field(repr=False)
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    stats: CallStats = field(default_factory=CallStats)

    page_size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": self.token,
                "LD-API-Version": "beta",
                "Accept": "application/json",
                "User-Agent": f"{PRODUCT}/{VERSION} python-requests/{requests.__version__}",
            }
        )

    def close(self) -> None:
        self.session.close()

    # -- the four operations ------------------------------------------------

    def list_deployments(
        self,
        *,
        project_key: str,
        environment_key: str,
        from_ms: int | None = None,
        to_ms: int | None = None,
        limit: int | None = None,
        expand: str = EXPAND_ALL,
        after: str | None = None,
    ) -> dict[str, Any]:
        """One page of LaunchDarkly's deployment list (a DeploymentCollectionRep)."""
        params: dict[str, Any] = {
            "projectKey": project_key,
            "environmentKey": environment_key,
            "limit": limit or self.page_size,
        }
        if expand:
            params["expand"] = expand
        if from_ms is not None:
            params["from"] = from_ms
        if to_ms is not None:
            params["to"] = to_ms
        if after:
            params["after"] = after
        return self._read(f"{PREFIX}/deployments", params=params)

    def iter_deployment_pages(
        self, *, project_key: str, environment_key: str, from_ms: int, to_ms: int
    ) -> Iterator[dict[str, Any]]:
        """Every page of one window, following `_links.next` (or the last id)."""
        page = self.list_deployments(
            project_key=project_key, environment_key=environment_key, from_ms=from_ms, to_ms=to_ms
        )
        while True:
            yield page
            following = _next_href(page)
            if following is None:
                return
            page = self._read(following)

    def get_deployment(self, deployment_id: str, *, expand: str = EXPAND_ALL) -> dict[str, Any]:
        params = {"expand": expand} if expand else None
        return self._read(f"{PREFIX}/deployments/{deployment_id}", params=params)

    def patch_deployment(
        self, deployment_id: str, patch: list[dict], *, comment: str = ""
    ) -> dict[str, Any]:
        """Sends a JSON Patch once. Raises UpstreamPatchUncertain when it may or may not
        have been applied (timeout or dropped connection after sending), having read the
        deployment again to find out."""
        body: Any = {"comment": comment, "patch": patch} if comment else patch
        path = f"{PREFIX}/deployments/{deployment_id}"
        try:
            return self._send("PATCH", path, json_body=body)
        except _SentButUnanswered as unanswered:
            return self._settle_uncertain_patch(deployment_id, patch, unanswered)

    def post_deployment_event(self, event: dict[str, Any]) -> None:
        """Posts one deployment event (LaunchDarkly answers 201, no body). Not retried:
        LaunchDarkly's fingerprinting makes a repeat harmless, but that is the caller's
        call to make."""
        try:
            self._send("POST", f"{PREFIX}/deployment-events", json_body=event, expect_body=False)
        except _SentButUnanswered as unanswered:
            raise UpstreamUnavailable(
                f"LaunchDarkly did not answer the deployment event ({unanswered.reason}); "
                "it may or may not have been recorded"
            ) from None

    # -- machinery ------------------------------------------------------------

    def _read(self, path: str, *, params: dict | None = None) -> dict[str, Any]:
        """A GET, retried with backoff on what is worth retrying."""
        began = time.monotonic()
        for attempt in range(self.retry.attempts):
            try:
                return self._send("GET", path, params=params)
            except (_SentButUnanswered, UpstreamUnavailable, UpstreamRateLimited) as error:
                wait = self._wait_before_retry(error, attempt, began)
                if wait is None:
                    raise _public(error) from None
                self.stats.retries += 1
                self.stats.waited_seconds += wait
                self.sleep(wait)
        raise AssertionError("unreachable: the last attempt raises")

    def _wait_before_retry(self, error: Exception, attempt: int, began: float) -> float | None:
        if attempt + 1 >= self.retry.attempts:
            return None
        if isinstance(error, UpstreamUnavailable) and error.status not in (None, *RETRIED_STATUSES):
            return None  # a 500, or a body that is not JSON: retrying would not help
        wait = self.retry.backoff(attempt, self.rng)
        if isinstance(error, UpstreamRateLimited):
            self.stats.rate_limit_waits += 1
            wait = max(wait, error.retry_after)
        if time.monotonic() - began + wait > self.retry.total_budget:
            return None
        return wait

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json_body: Any = None,
        expect_body: bool = True,
    ) -> Any:
        url = self._url(path)
        self.stats.requests += 1
        began = time.perf_counter()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                data=None if json_body is None else json.dumps(json_body),
                headers={"Content-Type": "application/json"} if json_body is not None else None,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.ConnectTimeout:
            raise UpstreamUnavailable(
                f"LaunchDarkly did not accept a connection ({_where(url)})"
            ) from None
        except requests.ConnectionError as error:
            if _never_sent(error):
                raise UpstreamUnavailable(
                    f"LaunchDarkly refused the connection ({_where(url)})"
                ) from None
            raise _SentButUnanswered("the connection was dropped") from None
        except requests.Timeout:
            raise _SentButUnanswered(f"no answer within {self.timeout[1]:g} s") from None
        except requests.RequestException as error:
            raise UpstreamUnavailable(
                f"LaunchDarkly could not be reached: {type(error).__name__}"
            ) from None
        finally:
            self.stats.answer_seconds += time.perf_counter() - began
        return _interpret(response, expect_body=expect_body, secret=self.token)

    def _url(self, path: str) -> str:
        # `_links` hrefs are absolute paths on the same host; anything else is refused,
        # so a forged link cannot send the token elsewhere.
        url = urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))
        if urlsplit(url).netloc != urlsplit(self.base_url).netloc:
            raise UpstreamUnavailable("LaunchDarkly linked to another host; not following it")
        return url

    def _settle_uncertain_patch(
        self, deployment_id: str, patch: list[dict], unanswered: _SentButUnanswered
    ) -> dict[str, Any]:
        try:
            document = self.get_deployment(deployment_id, expand="")
        except UpstreamError as error:
            raise UpstreamPatchUncertain(
                f"LaunchDarkly did not answer the edit ({unanswered.reason}), and reading the "
                f"deployment again failed too ({error.message}): it may or may not have "
                "been applied",
                landed=None,
                document=None,
            ) from None
        landed = patch_has_landed(document, patch)
        raise UpstreamPatchUncertain(
            f"LaunchDarkly did not answer the edit ({unanswered.reason}); reading the "
            f"deployment again shows it {'was' if landed else 'was not'} applied",
            landed=landed,
            document=document,
        )


class _SentButUnanswered(Exception):
    """The request may have reached LaunchDarkly, but no answer came back."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _public(error: Exception) -> UpstreamError:
    if isinstance(error, _SentButUnanswered):
        return UpstreamUnavailable(f"LaunchDarkly did not answer: {error.reason}")
    assert isinstance(error, UpstreamError)
    return error


def _never_sent(error: requests.ConnectionError) -> bool:
    """Whether the request cannot have left: connection refused or name not resolved."""
    text = repr(error)
    return any(sign in text for sign in ("Connection refused", "NewConnectionError", "resolve"))


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _interpret(response: requests.Response, *, expect_body: bool, secret: str) -> Any:
    status = response.status_code
    if 200 <= status < 300:
        return _json(response) if expect_body else None
    # An error body can echo the request (a proxy's diagnostic page, a debug handler):
    # the token is cut out before any of it reaches a message, a log or the change log.
    body = _error_body(response, secret)
    message = body.get("message") or _redacted(response.reason or "", secret) or f"HTTP {status}"
    if status in (401, 403):
        # Loudly: an expired or revoked token stops every sync until someone acts.
        logger.error("LaunchDarkly refused the API token: %s %s", status, message)
        raise UpstreamAuthFailed(f"LaunchDarkly refused the token: {message}", status=status)
    if status == 404:
        raise UpstreamNotFound(f"LaunchDarkly: {message}", status=status)
    if status == 429:
        raise UpstreamRateLimited(
            f"LaunchDarkly's rate limit: {message}", retry_after=_retry_after(response)
        )
    if status in (400, 409, 422):
        errors = body.get("errors")
        raise UpstreamRejected(
            f"LaunchDarkly refused the request: {message}",
            status=status,
            code=str(body.get("code", "")),
            errors=errors if isinstance(errors, list) else [],
        )
    raise UpstreamUnavailable(f"LaunchDarkly answered {status}: {message}", status=status)


def _json(response: requests.Response) -> Any:
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type:
        raise UpstreamUnavailable(
            f"LaunchDarkly answered {content_type or 'no content type'}, not JSON",
            status=response.status_code,
        )
    try:
        return response.json()
    except ValueError:
        raise UpstreamUnavailable(
            "LaunchDarkly's answer is not valid JSON", status=response.status_code
        ) from None


def _error_body(response: requests.Response, secret: str) -> dict:
    try:
        body = json.loads(_redacted(response.text, secret))
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


REDACTED = "[API token]"


def _redacted(text: str, secret: str) -> str:
    """`text` without the token, even where it is JSON-escaped or quoted."""
    if not secret:
        return text
    for form in {secret, json.dumps(secret)[1:-1]}:
        text = text.replace(form, REDACTED)
    return text


def _retry_after(response: requests.Response, *, now: float | None = None) -> float:
    """Seconds to wait: `Retry-After` (seconds or an HTTP date), else `X-Ratelimit-Reset`
    (epoch ms), else one second."""
    now = time.time() if now is None else now
    header = response.headers.get("Retry-After", "").strip()
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            moment = email.utils.parsedate_to_datetime(header)
            if moment is not None:
                return max(0.0, moment.timestamp() - now)
    reset = response.headers.get("X-Ratelimit-Reset", "").strip()
    if reset.isdigit():
        return max(0.0, int(reset) / 1000 - now)
    return 1.0


def _next_href(page: dict[str, Any]) -> str | None:
    links = page.get("_links")
    if isinstance(links, dict):
        following = links.get("next")
        if isinstance(following, dict) and isinstance(following.get("href"), str):
            return following["href"]
    return None


def patch_has_landed(document: dict[str, Any], patch: list[dict]) -> bool:
    """Whether `document` already holds every value the patch's writes set.

    Good enough to tell a lost PATCH from an applied one for the edits this product
    makes (add, replace and remove of fields and metadata keys); a `move` or `copy`
    counts as landed when its target holds the source's value.
    """
    missing = object()
    for operation in patch:
        op, path = operation.get("op"), operation.get("path", "")
        try:
            current = resolve_pointer(document, path, missing)
        except JsonPointerException:
            current = missing
        if op in ("add", "replace") and current != operation.get("value"):
            return False
        if op == "remove" and current is not missing:
            return False
    return True
