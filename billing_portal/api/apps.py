from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "billing_portal.api"
    label = "api"
    verbose_name = "API keys"

    def ready(self) -> None:
        from billing_portal.api import schema  # noqa: F401  (registers the schema extensions)
