from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "invigilation.audit"
    label = "audit"
