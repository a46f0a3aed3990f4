from django.apps import AppConfig


class DeploymentsConfig(AppConfig):
    name = "deployments"
    verbose_name = "Deployments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import checks  # noqa: F401  (registers the startup checks)
        from .postgres import use_fast_timestamp_loader

        connection_created.connect(use_fast_timestamp_loader, dispatch_uid="fast-timestamptz")
