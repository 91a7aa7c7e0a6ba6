from rest_framework import serializers

from invigilation.students.models import EnrolmentPhoto, Student


class EnrolmentPhotoSerializer(serializers.ModelSerializer):
    status = serializers.CharField(
        source="face_check",
        read_only=True,
        help_text="The face check, run on a worker after the upload: pending (checking), "
        "accepted (exactly one face; its embedding is stored), rejected (see reason), or "
        "not_checked (no face checker configured). Only accepted photos are used for identity.",
    )
    reason = serializers.SerializerMethodField(help_text="Why the photo was rejected.")
    status_text = serializers.CharField(read_only=True, help_text="The status in words.")
    confirmed = serializers.BooleanField(
        read_only=True,
        help_text="Uploaded photos are; a photo taken at check-in (self-enrolment) is not "
        "until an invigilator approves it.",
    )

    class Meta:
        model = EnrolmentPhoto
        fields = [
            "id",
            "status",
            "reason",
            "status_text",
            "source",
            "confirmed",
            "confirmed_at",
            "width",
            "height",
            "face_check",
            "face_check_message",
            "checked_at",
            "uploaded_at",
        ]
        read_only_fields = fields

    def get_reason(self, photo: EnrolmentPhoto) -> str:
        return photo.face_check_message if photo.face_check == photo.FaceCheck.REJECTED else ""


class SinglePhotoUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True, help_text="One image: JPEG, PNG, WebP or BMP."
    )


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


class EnrolmentPhotoSummarySerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="face_check")

    class Meta:
        model = EnrolmentPhoto
        fields = ["id", "student", "status"]


class OutcomeSerializer(serializers.Serializer):
    source = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()
    photo = EnrolmentPhotoSummarySerializer(
        allow_null=True,
        read_only=True,
        help_text="The photo stored (photo uploads), its face check usually still pending: "
        "GET /api/students/{student}/photos/{id}/ reads it later.",
    )


class ImportReportSerializer(serializers.Serializer):
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField(source="failed_count")
    pending = serializers.IntegerField(
        help_text="Photos stored whose face check is still running on a worker."
    )
    outcomes = OutcomeSerializer(many=True)
