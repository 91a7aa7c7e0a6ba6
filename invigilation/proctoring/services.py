"""Writes to flags, and the push of each new flag to the exam's live dashboards."""

from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from invigilation.exams.models import ExamSession
from invigilation.proctoring.groups import exam_group
from invigilation.proctoring.models import Flag


def raise_flag(
    *,
    session: ExamSession,
    kind: str,
    severity: int = Flag.Severity.MEDIUM,
    confidence: float = 1.0,
    message: str = "",
    evidence: dict[str, Any] | None = None,
    raised_at: datetime | None = None,
    snapshot: bytes | None = None,
) -> Flag:
    flag = Flag(
        session=session,
        kind=kind,
        severity=severity,
        confidence=confidence,
        message=message,
        evidence=evidence or {},
        raised_at=raised_at or timezone.now(),
    )
    if snapshot:
        flag.snapshot.save("snapshot.jpg", ContentFile(snapshot), save=False)
    flag.save()
    # Only committed flags are announced; the dashboard re-reads them over REST anyway.
    transaction.on_commit(lambda: push_flag(flag=flag))
    return flag


def flag_event(flag: Flag) -> dict[str, Any]:
    return {
        "id": flag.pk,
        "session": flag.session_id,
        "student_number": flag.session.student.student_number,
        "student_name": flag.session.student.full_name,
        "kind": flag.kind,
        "kind_label": flag.get_kind_display(),
        "severity": flag.severity,
        "confidence": flag.confidence,
        "message": flag.message,
        "raised_at": flag.raised_at.isoformat(),
    }


def push_flag(*, flag: Flag) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(
        exam_group(flag.session.exam_id), {"type": "flag.raised", "flag": flag_event(flag)}
    )
