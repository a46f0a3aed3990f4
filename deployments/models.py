"""The local cache of LaunchDarkly's engineering-insights deployments.

Columns mirror LaunchDarkly's `DeploymentRep`, `PullRequestRep`, `FlagReferenceRep`,
`LeadTimeStagesRep` and `PullRequestLeadTimeRep` (snake_case here, camelCase on the wire;
`representation.py` is the only translation). Everything the pages filter, sort or
aggregate on is a real column. Optional LaunchDarkly fields are nullable so that
"absent" survives a round trip.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models


class Deployment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Not in LaunchDarkly's representation, but every list call is scoped by it.
    project_key = models.CharField(max_length=256)
    environment_key = models.CharField(max_length=256)
    application_key = models.CharField(max_length=256)
    application_version = models.CharField(max_length=256)
    # Free strings upstream: "started", "finished", "failed" are the ones seen in practice.
    status = models.CharField(max_length=64)
    # Free strings upstream: "forward", "redeployment", "rollback" are the ones seen.
    kind = models.CharField(max_length=64)
    active = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    number_of_contributors = models.IntegerField(default=0)
    number_of_pull_requests = models.IntegerField(default=0)
    lines_added = models.BigIntegerField(default=0)
    lines_deleted = models.BigIntegerField(default=0)
    # Total lead time from first commit to deployment end.
    lead_time_ms = models.BigIntegerField(default=0)
    # LeadTimeStagesRep; the whole object is absent when coding_duration_ms is null
    # (codingDurationMs is its one required field).
    coding_duration_ms = models.BigIntegerField(null=True, blank=True)
    review_duration_ms = models.BigIntegerField(null=True, blank=True)
    wait_duration_ms = models.BigIntegerField(null=True, blank=True)
    deploy_duration_ms = models.BigIntegerField(null=True, blank=True)
    total_lead_time_ms = models.BigIntegerField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)

    pull_requests = models.ManyToManyField(
        "PullRequest", through="DeploymentPullRequest", related_name="deployments"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # The default list: one project and environment, newest first, keyset on id.
            models.Index(
                fields=["project_key", "environment_key", "-started_at", "-id"],
                name="deployment_scope_started_idx",
            ),
            # One application's history in an environment (filters, previous deployment).
            models.Index(
                fields=["project_key", "environment_key", "application_key", "-started_at"],
                name="deployment_app_started_idx",
            ),
            # Lists across every project and environment.
            models.Index(fields=["-started_at", "-id"], name="deployment_started_idx"),
            # The same version in other environments; deployment events find theirs.
            models.Index(
                fields=["project_key", "application_key", "application_version"],
                name="deployment_version_idx",
            ),
            # The list hides archived deployments by default: these let its capped count
            # and its pages read the index alone (a 4-week count: 7.4 ms → 1.5 ms, SQLite).
            models.Index(
                fields=["-started_at", "-id"],
                condition=models.Q(archived=False),
                name="deployment_live_started_idx",
            ),
            models.Index(
                fields=["project_key", "environment_key", "-started_at", "-id"],
                condition=models.Q(archived=False),
                name="deployment_live_scope_idx",
            ),
            # The list filtered by application without a project (the form offers every
            # project's applications): its pages and capped count read the index alone
            # (application, status and kind over all time: a 26 ms count → 2 ms, SQLite).
            models.Index(
                fields=["application_key", "-started_at", "-id", "status", "kind"],
                condition=models.Q(archived=False),
                name="deployment_live_app_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_key} {self.application_version} → {self.environment_key}"

    @property
    def has_lead_time_stages(self) -> bool:
        return self.coding_duration_ms is not None


class PullRequest(models.Model):
    """A pull request; one can ship in several deployments, across environments."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=64)
    title = models.TextField()
    status = models.CharField(max_length=64)
    author = models.CharField(max_length=256)
    create_time = models.DateTimeField()
    merge_time = models.DateTimeField(null=True, blank=True)
    merge_commit_key = models.CharField(max_length=256, null=True, blank=True)
    base_commit_key = models.CharField(max_length=256)
    head_commit_key = models.CharField(max_length=256)
    files_changed = models.IntegerField(default=0)
    lines_added = models.BigIntegerField(default=0)
    lines_deleted = models.BigIntegerField(default=0)
    url = models.TextField()

    class Meta:
        ordering = ["create_time", "id"]
        # The list's search finds "#1234" by number. (On PostgreSQL, trigram indexes
        # serve its title and author matches: migration 0008.)
        indexes = [models.Index(fields=["external_id"], name="pull_request_external_id_idx")]

    def __str__(self) -> str:
        return f"#{self.external_id} {self.title}"


class DeploymentPullRequest(models.Model):
    """A pull request as it shipped in one deployment, with its lead time there.

    LaunchDarkly's `PullRequestLeadTimeRep` is "the lead time for the pull request in a
    given environment", so it lives on the link, not on the pull request.
    """

    # No index of their own (db_index=False): the unique constraint's index leads with
    # the deployment, pull_request_deployment_idx with the pull request. Every index is
    # written at random places by UUID keys, which is most of a bulk load's cost.
    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="pull_request_links", db_index=False
    )
    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="deployment_links", db_index=False
    )
    # Upstream order of the deployment's pull requests, kept for faithful round trips.
    position = models.PositiveIntegerField(default=0)
    # PullRequestLeadTimeRep; absent when coding_duration_ms is null.
    coding_duration_ms = models.BigIntegerField(null=True, blank=True)
    review_duration_ms = models.BigIntegerField(null=True, blank=True)
    max_wait_duration_ms = models.BigIntegerField(null=True, blank=True)
    avg_wait_duration_ms = models.BigIntegerField(null=True, blank=True)
    max_deploy_duration_ms = models.BigIntegerField(null=True, blank=True)
    avg_deploy_duration_ms = models.BigIntegerField(null=True, blank=True)
    max_total_lead_time_ms = models.BigIntegerField(null=True, blank=True)
    avg_total_lead_time_ms = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "pull_request"], name="unique_deployment_pull_request"
            )
        ]
        # From pull requests to their deployments without reading the rows: the list's
        # text search expands matching pull requests to deployments this way.
        indexes = [
            models.Index(fields=["pull_request", "deployment"], name="pull_request_deployment_idx")
        ]

    def __str__(self) -> str:
        return f"{self.pull_request_id} in {self.deployment_id}"


class FlagReferenceFields(models.Model):
    """LaunchDarkly's `FlagReferenceRep`: how a change touched one flag's references."""

    project_key = models.CharField(max_length=256)
    flag_key = models.CharField(max_length=256)
    references_added = models.IntegerField(default=0)
    references_removed = models.IntegerField(default=0)
    # Upstream order, kept for faithful round trips.
    position = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.flag_key} +{self.references_added}/-{self.references_removed}"


class FlagReference(FlagReferenceFields):
    # Indexed by the unique constraint, which leads with it.
    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="flag_references", db_index=False
    )

    class Meta(FlagReferenceFields.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "project_key", "flag_key"],
                name="unique_deployment_flag_reference",
            )
        ]
        indexes = [models.Index(fields=["flag_key"], name="flag_reference_flag_idx")]


class PullRequestFlagReference(FlagReferenceFields):
    # Indexed by the unique constraint, which leads with it.
    pull_request = models.ForeignKey(
        PullRequest, on_delete=models.CASCADE, related_name="flag_references", db_index=False
    )

    class Meta(FlagReferenceFields.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["pull_request", "project_key", "flag_key"],
                name="unique_pull_request_flag_reference",
            )
        ]


class DeploymentEvent(models.Model):
    """One entry of a deployment's timeline: started, finished, failed or custom.

    Holds what LaunchDarkly's `PostDeploymentEventInput` carried beyond the deployment
    itself (display names, application kind, event metadata).
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    event_type = models.CharField(max_length=16)
    event_time = models.DateTimeField()
    application_name = models.CharField(max_length=256, blank=True, default="")
    application_kind = models.CharField(max_length=16, blank=True, default="")
    version_name = models.CharField(max_length=256, blank=True, default="")
    event_metadata = models.JSONField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # A digest of the event as posted, so a pipeline that retries a post creates nothing new.
    fingerprint = models.CharField(max_length=64, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["event_time", "id"]
        indexes = [models.Index(fields=["deployment", "event_time"], name="event_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} at {self.event_time:%Y-%m-%d %H:%M}"


class Change(models.Model):
    """One attempt to edit a deployment, successful or not, with what it did.

    Every edit (page, quick action, bulk action, API, revert, sync) is recorded here,
    including rejected ones, so the history answers "who tried what, and why did it
    fail". A revert is itself a change, pointing at the one it undoes.
    """

    class Source(models.TextChoices):
        PAGE = "page", "Page"
        BULK = "bulk", "Bulk action"
        API = "api", "API"
        REVERT = "revert", "Revert"
        SYNC = "sync", "Sync"

    class Mode(models.TextChoices):
        LOCAL = "local", "Local"
        UPSTREAM = "upstream", "Upstream"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"  # 400: not allowed or malformed
        CONFLICT = "conflict", "Conflict"  # 409: a `test` failed
        FAILED = "failed", "Failed"  # 422: could not be applied
        NOT_FOUND = "not_found", "Not found"  # 404
        UPSTREAM_ERROR = "upstream_error", "Upstream error"

    # No database constraint: attempts on unknown ids are recorded too, and history
    # outlives a deployment removed from the cache.
    deployment = models.ForeignKey(
        Deployment,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="changes",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who, in words that survive the user's deletion: a username, token or service name.
    actor_label = models.CharField(max_length=256)
    source = models.CharField(max_length=16, choices=Source.choices)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    reason = models.TextField(blank=True, default="")
    # Null when the body was JSON null (a rejected attempt is recorded as sent).
    patch = models.JSONField(null=True, blank=True)
    inverse_patch = models.JSONField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    error_details = models.JSONField(null=True, blank=True)
    upstream_status = models.IntegerField(null=True, blank=True)
    reverts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reverted_by"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["deployment", "-created_at"], name="change_history_idx"),
            models.Index(fields=["-created_at"], name="change_recent_idx"),
        ]
        permissions = [("revert_change", "Can revert a recorded change")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} {self.source} change to {self.deployment_id}"

    @property
    def succeeded(self) -> bool:
        return self.outcome == self.Outcome.APPLIED


class ApiToken(models.Model):
    """A credential for the REST API, sent as the raw `Authorization` header.

    Only a SHA-256 digest is stored: the token is shown once, when it is made. A token
    belongs to a user or to a named service, and reads or also writes.
    """

    class Role(models.TextChoices):
        READER = "reader", "Reader (GET)"
        WRITER = "writer", "Writer (GET, PATCH, deployment events)"

    name = models.CharField(max_length=120, help_text="What the token is for.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    service_name = models.CharField(
        max_length=120, blank=True, default="", help_text="The service it belongs to, if no user."
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.READER)
    # The first characters of the token, to recognise it in lists without revealing it.
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(service_name=""),
                name="api_token_has_owner",
                violation_error_message="A token belongs to a user or to a named service.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def owner_label(self) -> str:
        return self.user.get_username() if self.user_id else f"service:{self.service_name}"


class SyncScope(models.Model):
    """One LaunchDarkly project and environment kept in the cache in upstream mode.

    The checkpoint fields are an unfinished run's place: the window it was walking and
    the last deployment it cached there, committed with every page, so an interrupted
    run (Ctrl-C, a crash, a deploy) loses nothing and the next one continues from it.
    """

    project_key = models.CharField(max_length=256)
    environment_key = models.CharField(max_length=256)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Every deployment that started before this is in the cache: the end of the last
    # complete run's range. Incremental runs start here, less an overlap.
    synced_through = models.DateTimeField(null=True, blank=True)
    # The unfinished run's range and place.
    checkpoint_from = models.DateTimeField(null=True, blank=True)
    checkpoint_to = models.DateTimeField(null=True, blank=True)
    checkpoint_window_to = models.DateTimeField(null=True, blank=True)
    checkpoint_after = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["project_key", "environment_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["project_key", "environment_key"], name="unique_sync_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project_key}/{self.environment_key}"

    @property
    def has_checkpoint(self) -> bool:
        return self.checkpoint_to is not None


class SyncRun(models.Model):
    """One sync of one scope: when, how far, what it found, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    scope = models.ForeignKey(SyncScope, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    full = models.BooleanField(default=False)
    range_from = models.DateTimeField()
    range_to = models.DateTimeField()
    resumed = models.BooleanField(default=False)
    fetched = models.IntegerField(default=0)
    created = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    pages = models.IntegerField(default=0)
    rate_limit_waits = models.IntegerField(default=0)
    waited_seconds = models.FloatField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["scope", "-started_at"], name="sync_run_recent_idx"),
            # The header's "synced" time on every page in upstream mode.
            models.Index(fields=["status", "-finished_at"], name="sync_run_finished_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.get_status_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @classmethod
    def last_success(cls) -> datetime | None:
        """When the most recent successful run of any scope finished; None before one."""
        return (
            cls.objects.filter(status=cls.Status.SUCCEEDED, finished_at__isnull=False)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
