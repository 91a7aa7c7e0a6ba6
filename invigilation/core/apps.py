from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "invigilation.core"
    label = "core"

    def ready(self) -> None:
        # Every Django process (web, workers, commands) sets up Celery from the settings, so a
        # task queued anywhere goes to the configured broker.
        from invigilation import celery  # noqa: F401, PLC0415
