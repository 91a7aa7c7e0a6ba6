from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "invigilation.reports"
    label = "reports"
