from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "invigilation.core"
    label = "core"
