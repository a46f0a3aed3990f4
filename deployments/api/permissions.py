"""What a caller may do: read with any valid credential, write with a writer's."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..models import ApiToken
from .authentication import caller_token

READ_PERMISSION = "deployments.view_deployment"
WRITE_PERMISSION = "deployments.change_deployment"


class DeploymentAccess(BasePermission):
    message = "Forbidden. Access to the requested resource was denied."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        writing = request.method not in SAFE_METHODS
        token = caller_token(request)
        if token is not None:
            if writing and token.role != ApiToken.Role.WRITER:
                self.message = "This access token can only read; writing needs a writer token"
                return False
            return True
        # A signed-in browser: the user's role decides.
        return request.user.has_perm(WRITE_PERMISSION if writing else READ_PERMISSION)
