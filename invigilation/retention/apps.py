from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "invigilation.retention"
    label = "retention"
