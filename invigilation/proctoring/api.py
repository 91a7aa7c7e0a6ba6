import django_filters
from rest_framework import viewsets

from invigilation.accounts.permissions import IsStaffReadOnlyOrAdmin
from invigilation.proctoring.models import Flag
from invigilation.proctoring.selectors import flags_visible_to
from invigilation.proctoring.serializers import FlagSerializer


class FlagFilter(django_filters.FilterSet):
    exam = django_filters.NumberFilter(field_name="session__exam")
    # A dashboard reconnecting asks for everything after the last flag it has seen.
    raised_after = django_filters.IsoDateTimeFilter(field_name="raised_at", lookup_expr="gt")
    after_id = django_filters.NumberFilter(field_name="id", lookup_expr="gt")
    severity_min = django_filters.NumberFilter(field_name="severity", lookup_expr="gte")

    class Meta:
        model = Flag
        fields = ["session", "kind", "severity", "review_state"]


class FlagViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = FlagSerializer
    permission_classes = [IsStaffReadOnlyOrAdmin]
    filterset_class = FlagFilter
    ordering_fields = ["raised_at", "severity", "confidence"]

    def get_queryset(self):
        return flags_visible_to(user=self.request.user)
