from django.apps import AppConfig


class ProctoringConfig(AppConfig):
    name = "invigilation.proctoring"
    label = "proctoring"
