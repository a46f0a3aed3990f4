"""The deployments list page, its htmx fragment and its exports. (Being written.)"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def deployment_list(request):
    return HttpResponse("The deployments list is being built.")


@login_required
def export_csv(request):
    return HttpResponse("", content_type="text/csv")


@login_required
def export_json(request):
    return HttpResponse("{}", content_type="application/json")
