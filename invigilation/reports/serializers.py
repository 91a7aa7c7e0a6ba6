"""The post-exam report as the API returns it (`GET /api/exams/<id>/report/`)."""

from rest_framework import serializers

from invigilation.reports.selectors import Outcome


class SummarySerializer(serializers.Serializer):
    expected = serializers.IntegerField()
    checked_in = serializers.IntegerField()
    verified = serializers.IntegerField()
    to_review = serializers.IntegerField(help_text="Students with an open flag.")
    flagged = serializers.IntegerField(help_text="A flag confirmed or escalated, none open.")
    clean = serializers.IntegerField(help_text="Took part: no flag, or dismissed ones only.")
    absent = serializers.IntegerField(help_text="No check-in, no frame, no flag.")
    by_kind = serializers.DictField(child=serializers.IntegerField())
    by_severity = serializers.DictField(child=serializers.IntegerField())


class AttendanceRowSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session.pk")
    student_number = serializers.CharField(source="session.student.student_number")
    student_name = serializers.CharField(source="session.student.full_name")
    checked_in_at = serializers.DateTimeField(allow_null=True)
    absent = serializers.BooleanField(help_text="Outcome absent: no check-in, no frame, no flag.")
    late = serializers.BooleanField()
    verified = serializers.BooleanField(allow_null=True)
    identity = serializers.CharField(
        help_text='In words: verified, NOT verified, "no photo: not checked", not checked in.'
    )
    distance = serializers.FloatField(allow_null=True)
    flags = serializers.IntegerField()
    open_flags = serializers.IntegerField()
    clean = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=[o.value for o in Outcome])


class ReportFlagSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="flag.pk")
    session = serializers.IntegerField(source="flag.session_id")
    kind = serializers.CharField(source="flag.kind")
    severity = serializers.IntegerField(source="flag.severity")
    confidence = serializers.FloatField(source="flag.confidence")
    raised_at = serializers.DateTimeField(source="flag.raised_at")
    message = serializers.CharField(source="flag.message")
    review_state = serializers.CharField(source="flag.review_state")


class ExamReportSerializer(serializers.Serializer):
    summary = SummarySerializer()
    attendance = AttendanceRowSerializer(many=True, source="rows")
    flags = ReportFlagSerializer(many=True)
