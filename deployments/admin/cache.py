"""The admin portal's view of the cache: read-only.

Every change to a deployment goes through the service layer, so it is checked, sent
upstream where it must be, and recorded; never a plain model save here.
"""

from django.contrib import admin

from ..models import Deployment, DeploymentPullRequest, FlagReference, PullRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PullRequestLinkInline(admin.TabularInline):
    model = DeploymentPullRequest
    fields = ["pull_request", "coding_duration_ms", "review_duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class FlagReferenceInline(admin.TabularInline):
    model = FlagReference
    fields = ["project_key", "flag_key", "references_added", "references_removed"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = [
        "application_key",
        "application_version",
        "project_key",
        "environment_key",
        "status",
        "kind",
        "active",
        "archived",
        "started_at",
    ]
    list_filter = ["status", "kind", "active", "archived", "environment_key"]
    search_fields = ["application_key", "application_version", "=id"]
    date_hierarchy = "started_at"
    # Counting 100,000 rows twice per page is most of the admin's cost.
    show_full_result_count = False
    inlines = [PullRequestLinkInline, FlagReferenceInline]


@admin.register(PullRequest)
class PullRequestAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "title", "author", "status", "create_time", "merge_time"]
    search_fields = ["title", "author", "=external_id"]
    show_full_result_count = False
