from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from invigilation.audit.models import AccessEvent


def access_events_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[AccessEvent]:
    """The whole log for those allowed to read it (exam admins), nothing for anyone else."""
    if user.is_authenticated and user.has_perm("audit.view_accessevent"):
        return AccessEvent.objects.all()
    return AccessEvent.objects.none()
