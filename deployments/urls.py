from django.urls import path

from .views import detail, listing, overview

app_name = "deployments"

urlpatterns = [
    path("", overview.home, name="home"),
    path("deployments/", listing.deployment_list, name="list"),
    path("deployments/export.csv", listing.export_csv, name="export-csv"),
    path("deployments/export.json", listing.export_json, name="export-json"),
    path("deployments/<uuid:deployment_id>/", detail.deployment_detail, name="detail"),
]
