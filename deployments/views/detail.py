"""One deployment's page: its facts, lead-time stages, pull requests, flags, timeline
and history."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ..queries.detail import deployment_detail as detail_query


@login_required
def deployment_detail(request: HttpRequest, deployment_id: uuid.UUID) -> HttpResponse:
    detail = detail_query(deployment_id)
    if detail is None:
        # The site's 404 page says a deployment may have left the cache.
        raise Http404(f"No deployment {deployment_id}")
    return render(request, "deployments/detail.html", {"detail": detail})
