"""Rows for the list page's tests, made directly: a deployment, its pull requests, flags.

`make_deployment` (conftest) caches LaunchDarkly's example through the import path; these
build exactly the columns a test is about, many at a time, without that document.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from deployments import roles
from deployments.models import Deployment, DeploymentPullRequest, FlagReference, PullRequest


def deployment(*, started_at: datetime | None = None, minutes_ago: int = 60, **fields: Any):
    """A deployment that started `minutes_ago` (or at `started_at`), finished a minute
    later; any column can be given."""
    started_at = started_at or timezone.now() - timedelta(minutes=minutes_ago)
    values: dict[str, Any] = {
        "project_key": "payments",
        "environment_key": "production",
        "application_key": "billing-service",
        "application_version": "v1.0.0",
        "status": "finished",
        "kind": "forward",
        "started_at": started_at,
        "ended_at": started_at + timedelta(minutes=1),
        "duration_ms": 60_000,
    }
    values.update(fields)
    return Deployment.objects.create(**values)


def pull_request(target: Deployment, **fields: Any) -> PullRequest:
    """A pull request shipped in `target`."""
    values: dict[str, Any] = {
        "external_id": str(uuid.uuid4().int % 100_000),
        "title": "Tidy up",
        "status": "merged",
        "author": "sam.example",
        "create_time": target.started_at - timedelta(days=1),
        "base_commit_key": "base",
        "head_commit_key": "head",
        "url": "https://example.com/pr",
    }
    values.update(fields)
    created = PullRequest.objects.create(**values)
    position = DeploymentPullRequest.objects.filter(deployment=target).count()
    DeploymentPullRequest.objects.create(deployment=target, pull_request=created, position=position)
    return created


def flag(target: Deployment, key: str, added: int = 0, removed: int = 0) -> FlagReference:
    position = FlagReference.objects.filter(deployment=target).count()
    return FlagReference.objects.create(
        deployment=target,
        project_key=target.project_key,
        flag_key=key,
        references_added=added,
        references_removed=removed,
        position=position,
    )


def sign_in(client, role: str = roles.VIEWER):
    user = get_user_model().objects.create_user(f"{role}-{uuid.uuid4().hex[:6]}")
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user
