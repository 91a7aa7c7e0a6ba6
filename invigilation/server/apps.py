from django.apps import AppConfig


class ServerConfig(AppConfig):
    """The top floor: `manage.py run` (web server, workers, beat and the embedded Redis in one
    process tree), the web server with its request-body limits, and the demo exam it seeds."""

    name = "invigilation.server"
    label = "server"
