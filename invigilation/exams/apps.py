from django.apps import AppConfig


class ExamsConfig(AppConfig):
    name = "invigilation.exams"
    label = "exams"
