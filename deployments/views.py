from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import queries


@login_required
def home(request):
    return render(request, "deployments/home.html", {"summary": queries.cache_summary()})
