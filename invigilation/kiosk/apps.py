from django.apps import AppConfig


class KioskConfig(AppConfig):
    name = "invigilation.kiosk"
    label = "kiosk"
    verbose_name = "Exam halls: entrance kiosk"

    def ready(self) -> None:
        from invigilation.kiosk import signals  # noqa: F401
