from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invigilation.invitations"
    label = "invitations"
    verbose_name = "Capture-link emails"
