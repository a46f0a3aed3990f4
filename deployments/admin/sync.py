"""Upstream sync in the admin portal: scopes, their health, and "Sync now".

Each scope's row is its health: the last run (when, how it ended, what it found, its
error and rate-limit waits), where an unfinished run stands, and how many of the
scope's deployments the cache holds. "Sync now" queues a run for the worker
(`manage.py db_worker`, started by `make run` beside the web server).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from ..models import Deployment, SyncRun, SyncScope
from ..tasks import sync_scope_task


class SyncRunInline(admin.TabularInline):
    model = SyncRun
    fields = [
        "started_at",
        "finished_at",
        "status",
        "resumed",
        "fetched",
        "created",
        "updated",
        "unchanged",
        "failed",
        "rate_limit_waits",
        "error",
    ]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-started_at"]
    verbose_name_plural = "Runs"


@admin.register(SyncScope)
class SyncScopeAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "enabled",
        "cached",
        "synced_through",
        "last_run",
        "last_counts",
        "last_error",
        "position",
    ]
    list_filter = ["enabled"]
    fields = ["project_key", "environment_key", "enabled", "synced_through", "position"]
    readonly_fields = ["synced_through", "position"]
    actions = ["sync_now"]
    inlines = [SyncRunInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncScope]:
        # One query for the page: counts and the latest run per scope as subqueries.
        cached = (
            Deployment.objects.filter(
                project_key=OuterRef("project_key"), environment_key=OuterRef("environment_key")
            )
            .order_by()
            .values("project_key")
            .annotate(n=Count("id"))
            .values("n")
        )
        return super().get_queryset(request).annotate(cached_count=Subquery(cached))

    def get_readonly_fields(self, request, obj=None):
        # The scope's identity is its key once it has runs: edit by adding another.
        if obj is not None:
            return ["project_key", "environment_key", *self.readonly_fields]
        return self.readonly_fields

    @admin.display(description="cached deployments", ordering="cached_count")
    def cached(self, scope: SyncScope) -> int:
        return scope.cached_count or 0

    def _latest(self, scope: SyncScope) -> SyncRun | None:
        if not hasattr(scope, "_latest_run"):
            scope._latest_run = scope.runs.order_by("-started_at", "-id").first()
        return scope._latest_run

    @admin.display(description="last run")
    def last_run(self, scope: SyncScope) -> str:
        run = self._latest(scope)
        if run is None:
            return "never"
        when = run.started_at.strftime("%Y-%m-%d %H:%M")
        return f"{run.get_status_display()} at {when}{' (resumed)' if run.resumed else ''}"

    @admin.display(description="fetched / created / updated / unchanged / failed; waits")
    def last_counts(self, scope: SyncScope) -> str:
        run = self._latest(scope)
        if run is None:
            return "—"
        return (
            f"{run.fetched} / {run.created} / {run.updated} / {run.unchanged} / {run.failed}; "
            f"{run.rate_limit_waits} rate-limit waits ({run.waited_seconds:.0f} s)"
        )

    @admin.display(description="last error")
    def last_error(self, scope: SyncScope) -> str:
        run = self._latest(scope)
        return run.error if run and run.error else "—"

    @admin.display(description="unfinished run at")
    def position(self, scope: SyncScope) -> str:
        if not scope.has_checkpoint:
            return "—"
        after = f", after {scope.checkpoint_after}" if scope.checkpoint_after else ""
        return f"window ending {scope.checkpoint_window_to:%Y-%m-%d %H:%M}{after}"

    @admin.action(description="Sync now", permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[SyncScope]) -> None:
        if not settings.LAUNCHDARKLY_API_TOKEN:
            self.message_user(
                request,
                "Sync needs upstream mode: set LAUNCHDARKLY_API_TOKEN.",
                level=messages.ERROR,
            )
            return
        for scope in queryset:
            sync_scope_task.enqueue(scope.pk)
        count = queryset.count()
        self.message_user(
            request,
            f"Queued a sync of {count} scope{'s' if count != 1 else ''}; the worker "
            "runs it and the runs appear here.",
        )
