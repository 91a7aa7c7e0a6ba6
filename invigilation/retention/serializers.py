"""A data subject's erasure through the API: the confirmation asked, and what was removed."""

from rest_framework import serializers


class ErasureSerializer(serializers.Serializer):
    confirm = serializers.CharField(
        help_text="The student's number, typed again: erasure cannot be undone."
    )

    def validate_confirm(self, value: str) -> str:
        number = self.context["student"].student_number
        if value.strip().casefold() != number.casefold():
            raise serializers.ValidationError(
                f"Type the student's number ({number}) to confirm: erasure cannot be undone."
            )
        return value


class ErasureReportSerializer(serializers.Serializer):
    student_number = serializers.CharField()
    photos = serializers.IntegerField()
    exam_sessions = serializers.IntegerField()
    frame_records = serializers.IntegerField()
    flags = serializers.IntegerField()
    snapshots = serializers.IntegerField()
