from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from invigilation.accounts.roles import is_exam_admin
from invigilation.exams.models import Attendance, Exam, ExamSession
from invigilation.students.selectors import Reference, reference_photos


class ExamSerializer(serializers.ModelSerializer):
    invigilators = serializers.SlugRelatedField(many=True, read_only=True, slug_field="username")

    class Meta:
        model = Exam
        fields = [
            "id",
            "title",
            "course",
            "starts_at",
            "ends_at",
            "mode",
            "room",
            "sampling_fps",
            "check_identity",
            "check_liveness",
            "self_enrol",
            "check_presence",
            "check_multiple_faces",
            "check_gaze",
            "check_expression",
            "rule_thresholds",
            "retention_days",
            "invigilators",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict) -> dict:
        instance = Exam(**{**self._current_values(), **attrs})
        instance.clean()
        return attrs

    def _current_values(self) -> dict:
        if self.instance is None:
            return {}
        return {
            name: getattr(self.instance, name) for name in ("starts_at", "ends_at", "mode", "room")
        }


class AttendanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attendance
        fields = ["checked_in_at", "verified", "verification_distance", "note"]


class ReferenceSerializer(serializers.Serializer):
    photo = serializers.IntegerField(source="photo_id")
    photo_url = serializers.SerializerMethodField()
    confirmed = serializers.BooleanField(
        help_text="False: taken at the student's check-in (self-enrolment), awaiting approval."
    )
    source = serializers.CharField(help_text="upload or check_in")

    def get_photo_url(self, reference: Reference) -> str:
        return reverse("students:photo", args=[reference.photo_id])


class ExamSessionListSerializer(serializers.ListSerializer):
    """Reads the reference photos of a whole page of sessions at once."""

    def to_representation(self, data):
        sessions = list(data.all() if hasattr(data, "all") else data)
        ids = [session.student_id for session in sessions]
        self.child.context["references"] = reference_photos(student_ids=ids)
        return super().to_representation(sessions)


class ExamSessionSerializer(serializers.ModelSerializer):
    student_number = serializers.CharField(source="student.student_number", read_only=True)
    student_name = serializers.CharField(source="student.full_name", read_only=True)
    attendance = serializers.SerializerMethodField()
    capture_token = serializers.SerializerMethodField()
    reference = serializers.SerializerMethodField(
        help_text="The photo identity checks compare the student against; null: none."
    )

    class Meta:
        model = ExamSession
        fields = [
            "id",
            "exam",
            "student",
            "student_number",
            "student_name",
            "status",
            "started_at",
            "finished_at",
            "attendance",
            "reference",
            "capture_token",
        ]
        read_only_fields = ["status", "started_at", "finished_at"]
        list_serializer_class = ExamSessionListSerializer

    @extend_schema_field(ReferenceSerializer(allow_null=True))
    def get_reference(self, session: ExamSession) -> dict | None:
        references = self.context.get("references")
        if references is None:
            references = reference_photos(student_ids=[session.student_id])
        found = references.get(session.student_id)
        return ReferenceSerializer(found).data if found else None

    def get_attendance(self, session: ExamSession) -> dict | None:
        attendance = getattr(session, "attendance", None)
        return AttendanceSerializer(attendance).data if attendance else None

    def get_capture_token(self, session: ExamSession) -> str | None:
        # The token is the student's credential: only exam admins hand it out.
        request = self.context.get("request")
        return session.token if request and is_exam_admin(request.user) else None


class StudentSessionSerializer(serializers.ModelSerializer):
    """What a student sees of their own session: nothing about anyone else."""

    exam = serializers.SerializerMethodField()
    student_number = serializers.CharField(source="student.student_number")
    student_name = serializers.CharField(source="student.full_name")

    class Meta:
        model = ExamSession
        fields = ["id", "status", "student_number", "student_name", "exam", "started_at"]

    def get_exam(self, session: ExamSession) -> dict:
        exam = session.exam
        return {
            "title": exam.title,
            "course": exam.course,
            "starts_at": exam.starts_at,
            "ends_at": exam.ends_at,
            "sampling_fps": exam.sampling_fps,
        }
