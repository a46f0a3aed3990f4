"""Read paths over the cache: what pages, the API and commands show."""

from django.db.models import Count, Max, Min, Prefetch

from .models import Deployment, DeploymentPullRequest


def cache_summary() -> dict:
    """Counts for the home page: deployments, and per project/environment scope."""
    scopes = (
        Deployment.objects.values("project_key", "environment_key")
        .annotate(count=Count("id"), first=Min("started_at"), last=Max("started_at"))
        .order_by("project_key", "environment_key")
    )
    scopes = list(scopes)
    return {"total": sum(scope["count"] for scope in scopes), "scopes": scopes}


def with_expansions(queryset, expand):
    """Prefetches what `representation.deployment_rep` reads for `expand`: one query
    per relation, whatever the number of rows."""
    expand = set(expand)
    if "pullRequests" in expand:
        queryset = queryset.prefetch_related(
            Prefetch(
                "pull_request_links",
                queryset=DeploymentPullRequest.objects.select_related("pull_request"),
            ),
            "pull_request_links__pull_request__flag_references",
        )
    if "flagReferences" in expand:
        queryset = queryset.prefetch_related("flag_references")
    return queryset


def deployment_with_expansions(deployment_id, *, expand=()) -> Deployment:
    """One deployment ready for `deployment_rep`; raises Deployment.DoesNotExist."""
    return with_expansions(Deployment.objects.all(), expand).get(id=deployment_id)
