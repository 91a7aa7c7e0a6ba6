from rest_framework import serializers

from invigilation.audit.models import AccessEvent


class AccessEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AccessEvent
        fields = [
            "id", "at", "user", "username", "action", "what", "exam", "student",
            "student_number", "detail", "ip",
        ]  # fmt: skip
        read_only_fields = fields
