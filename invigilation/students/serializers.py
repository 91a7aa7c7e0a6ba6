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
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)


class OutcomeSerializer(serializers.Serializer):
    source = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField(source="failed_count")
    outcomes = OutcomeSerializer(many=True)
