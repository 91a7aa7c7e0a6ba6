from rest_framework import serializers

from invigilation.accounts.roles import is_exam_admin
from invigilation.exams.models import Attendance, Exam, ExamSession


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


class ExamSessionSerializer(serializers.ModelSerializer):
    student_number = serializers.CharField(source="student.student_number", read_only=True)
    student_name = serializers.CharField(source="student.full_name", read_only=True)
    attendance = serializers.SerializerMethodField()
    capture_token = serializers.SerializerMethodField()

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
            "capture_token",
        ]
        read_only_fields = ["status", "started_at", "finished_at"]

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


class SummarySerializer(serializers.Serializer):
    expected = serializers.IntegerField()
    checked_in = serializers.IntegerField()
    verified = serializers.IntegerField()
    flagged = serializers.IntegerField()
    clean = serializers.IntegerField()
    by_kind = serializers.DictField(child=serializers.IntegerField())
    by_severity = serializers.DictField(child=serializers.IntegerField())


class AttendanceRowSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session.pk")
    student_number = serializers.CharField(source="session.student.student_number")
    student_name = serializers.CharField(source="session.student.full_name")
    checked_in_at = serializers.DateTimeField(allow_null=True)
    absent = serializers.BooleanField()
    late = serializers.BooleanField()
    verified = serializers.BooleanField(allow_null=True)
    distance = serializers.FloatField(allow_null=True)
    flags = serializers.IntegerField()
    open_flags = serializers.IntegerField()
    clean = serializers.BooleanField()


class ExamReportSerializer(serializers.Serializer):
    summary = SummarySerializer()
    attendance = AttendanceRowSerializer(many=True)
