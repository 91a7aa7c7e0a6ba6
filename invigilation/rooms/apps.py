from django.apps import AppConfig


class RoomsConfig(AppConfig):
    name = "invigilation.rooms"
    label = "rooms"
    verbose_name = "Exam halls: room cameras"
