from rest_framework import serializers

from invigilation.proctoring.models import Flag, FlagReview
from invigilation.proctoring.services import REVIEW_STATES


class FlagReviewSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", default=None)

    class Meta:
        model = FlagReview
        fields = ["state", "note", "reviewer", "reviewed_at"]


class FlagReviewInputSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=sorted(REVIEW_STATES))
    note = serializers.CharField(max_length=2000)


class FlagSerializer(serializers.ModelSerializer):
    exam = serializers.IntegerField(source="exam_id", read_only=True)
    # Null for a room's alert about no enrolled student (a stranger, a crowd).
    student_number = serializers.CharField(source="student.student_number", default=None)
    student_name = serializers.CharField(source="student.full_name", default=None)
    reviews = FlagReviewSerializer(many=True, read_only=True)
    kind_label = serializers.CharField(source="get_kind_display")
    has_snapshot = serializers.SerializerMethodField()
    has_thumbnail = serializers.SerializerMethodField()

    class Meta:
        model = Flag
        read_only_fields = ["student_name"]
        fields = [
            "id",
            "exam",
            "session",
            "student_number",
            "student_name",
            "kind",
            "kind_label",
            "severity",
            "confidence",
            "raised_at",
            "message",
            "evidence",
            "has_snapshot",
            "has_thumbnail",
            "review_state",
            "reviewed_by",
            "reviewed_at",
            "review_note",
            "reviews",
        ]

    def get_has_snapshot(self, flag: Flag) -> bool:
        return bool(flag.snapshot)

    def get_has_thumbnail(self, flag: Flag) -> bool:
        return bool(flag.thumbnail)
