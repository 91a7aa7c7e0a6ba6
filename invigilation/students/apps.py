from django.apps import AppConfig


class StudentsConfig(AppConfig):
    name = "invigilation.students"
    label = "students"

    def ready(self) -> None:
        from invigilation.students import signals  # noqa: F401
