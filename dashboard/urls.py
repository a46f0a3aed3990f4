from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("deployments.api.urls")),
    path("", include("deployments.urls")),
]

# Under /api/ even Django's own errors answer LaunchDarkly-shaped JSON.
handler400 = "deployments.api.errors.bad_request"
handler403 = "deployments.api.errors.permission_denied"
handler404 = "deployments.api.errors.page_not_found"
handler500 = "deployments.api.errors.server_error"
