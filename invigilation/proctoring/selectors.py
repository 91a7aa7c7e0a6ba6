from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from invigilation.exams.selectors import exams_visible_to
from invigilation.proctoring.models import Flag


def flags_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Flag]:
    return Flag.objects.filter(session__exam__in=exams_visible_to(user=user)).select_related(
        "session__exam", "session__student"
    )
