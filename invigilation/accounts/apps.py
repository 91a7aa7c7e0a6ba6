from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "invigilation.accounts"
    label = "accounts"

    def ready(self) -> None:
        post_migrate.connect(_create_role_groups, sender=self)


def _create_role_groups(**kwargs) -> None:
    from invigilation.accounts.roles import ensure_role_groups

    ensure_role_groups()
