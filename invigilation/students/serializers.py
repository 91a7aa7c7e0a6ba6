from rest_framework import serializers

from invigilation.students.models import EnrolmentPhoto, Student


class EnrolmentPhotoSerializer(serializers.ModelSerializer):
    class Meta:
        model = EnrolmentPhoto
        fields = ["id", "width", "height", "face_check", "face_check_message", "uploaded_at"]


class StudentSerializer(serializers.ModelSerializer):
    photos = EnrolmentPhotoSerializer(many=True, read_only=True)

    class Meta:
        model = Student
        fields = ["id", "student_number", "full_name", "email", "photos", "created_at"]
        read_only_fields = ["created_at"]


class CsvImportSerializer(serializers.Serializer):
    file = serializers.FileField()


class PhotoUploadSerializer(serializers.Serializer):
    # An empty file gets its own line in the report; it does not refuse the whole batch.
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), allow_empty=False
    )


class OutcomeSerializer(serializers.Serializer):
    source = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField(source="failed_count")
    outcomes = OutcomeSerializer(many=True)


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
