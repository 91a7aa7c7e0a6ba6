import django_filters
from rest_framework import viewsets

from invigilation.accounts.permissions import CanReadAuditLog
from invigilation.audit.models import AccessEvent
from invigilation.audit.selectors import access_events_visible_to
from invigilation.audit.serializers import AccessEventSerializer
from invigilation.core.api import DateTimeFilter


class AccessEventFilter(django_filters.FilterSet):
    after = DateTimeFilter(field_name="at", lookup_expr="gte")
    before = DateTimeFilter(field_name="at", lookup_expr="lt")
    # Also finds the events of an erased student, whose link is gone.
    student_number = django_filters.CharFilter(lookup_expr="iexact")
    username = django_filters.CharFilter()

    class Meta:
        model = AccessEvent
        fields = ["user", "student", "exam", "action", "what"]


class AccessEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log: who viewed, exported or erased which student's data (exam admins)."""

    serializer_class = AccessEventSerializer
    permission_classes = [CanReadAuditLog]
    filterset_class = AccessEventFilter
    ordering_fields = ["at"]

    def get_queryset(self):
        return access_events_visible_to(user=self.request.user)
