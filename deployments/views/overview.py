from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .. import queries


@login_required
def home(request):
    """The overview: how much the cache holds, per project and environment."""
    return render(request, "deployments/home.html", {"summary": queries.cache_summary()})
