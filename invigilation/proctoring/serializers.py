from rest_framework import serializers

from invigilation.proctoring.models import Flag


class FlagSerializer(serializers.ModelSerializer):
    exam = serializers.IntegerField(source="session.exam_id", read_only=True)
    student_number = serializers.CharField(source="session.student.student_number")
    kind_label = serializers.CharField(source="get_kind_display")
    has_snapshot = serializers.SerializerMethodField()

    class Meta:
        model = Flag
        fields = [
            "id",
            "exam",
            "session",
            "student_number",
            "kind",
            "kind_label",
            "severity",
            "confidence",
            "raised_at",
            "message",
            "evidence",
            "has_snapshot",
            "review_state",
            "reviewed_by",
            "reviewed_at",
            "review_note",
        ]

    def get_has_snapshot(self, flag: Flag) -> bool:
        return bool(flag.snapshot)
