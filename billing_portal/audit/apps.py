from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "billing_portal.audit"
    label = "audit"
    verbose_name = "Audit trail"
