from django.apps import AppConfig


class ProctoringConfig(AppConfig):
    name = "invigilation.proctoring"
    label = "proctoring"

    def ready(self) -> None:
        from invigilation.proctoring import signals  # noqa: F401
