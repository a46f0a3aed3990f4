"""One deployment's page. (Being written.)"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def deployment_detail(request, deployment_id):
    return HttpResponse(f"Deployment {deployment_id} is being built.")
