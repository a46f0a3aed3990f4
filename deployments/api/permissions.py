"""What a caller may do: read with a reader's credential, write with a writer's.

A token never gives more than its owner has: a user's writer token writes only while
the user may edit deployments, so demoting a user demotes their tokens too.
"""

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
        if token is not None and writing and token.role != ApiToken.Role.WRITER:
            self.message = "This access token can only read; writing needs a writer token"
            return False
        if token is not None and token.user_id is None:
            return True  # a service token: its role is all there is
        # A signed-in browser, or a user's token: the user's role decides (too).
        if not request.user.has_perm(WRITE_PERMISSION if writing else READ_PERMISSION):
            self.message = (
                f"{request.user.get_username()} may not {'edit' if writing else 'view'} deployments"
            )
            return False
        return True
