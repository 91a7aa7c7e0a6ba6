from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "invigilation.dashboard"
    label = "dashboard"
