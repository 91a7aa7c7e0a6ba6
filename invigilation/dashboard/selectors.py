"""What the live dashboard shows of an exam, read in a fixed number of queries."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.shortcuts import get_object_or_404
from django.utils import timezone

from invigilation.dashboard import risk
from invigilation.exams.models import Attendance, Exam, ExamSession
from invigilation.proctoring.models import Flag
from invigilation.proctoring.selectors import flags_visible_to, live_grid, top_expression
from invigilation.proctoring.services import flag_event
from invigilation.students.selectors import reference_photos


@dataclass
class StudentCard:
    session: ExamSession
    status: str  # waiting, checked_in, active, disconnected or finished
    identity: str  # "" before check-in; verified, not_verified, no_reference or not_checked
    reference_photo_id: int | None
    top_expression: str
    # The reference was taken at check-in (self-enrolment): an invigilator approves or
    # rejects it on the card.
    reference_unconfirmed: bool = False
    risk: float = 0.0
    open_flags: int = 0

    @property
    def risk_band(self) -> str:
        return risk.band(self.risk)

    @property
    def risk_shown(self) -> str:
        return risk.shown(self.risk)


def exam_flags(*, user: AbstractBaseUser | AnonymousUser, exam: Exam) -> list[Flag]:
    """Every flag of the exam, newest first, with its student (the exam is known: not joined
    again for each of a thousand flags)."""
    flags = flags_visible_to(user=user).filter(exam=exam)
    return list(
        flags.select_related(None).select_related("session__student").order_by("-raised_at")
    )


def student_cards(
    *, exam: Exam, flags: list[Flag], stale_after: float, now: datetime | None = None
) -> list[StudentCard]:
    now = now or timezone.now()
    sessions = list(live_grid(exam=exam))
    references = reference_photos(student_ids=[s.student_id for s in sessions])
    cards = {}
    for session in sessions:
        attendance = getattr(session, "attendance", None)
        reference = references.get(session.student_id)
        cards[session.pk] = StudentCard(
            session=session,
            status=_status(session, attendance, now, stale_after),
            identity=identity(attendance, has_reference=reference is not None),
            reference_photo_id=reference.photo_id if reference else None,
            reference_unconfirmed=bool(reference and not reference.confirmed),
            top_expression=top_expression(session.last_expression) or "",
        )
    for flag in flags:
        if flag.session_id is None:
            continue  # the room's alert about no enrolled student: no card to weigh it on
        card = cards[flag.session_id]
        card.risk += risk.flag_risk(flag)
        if flag.review_state == Flag.Review.OPEN:
            card.open_flags += 1
    # Riskiest first, as the grid is sorted by default.
    return sorted(cards.values(), key=lambda c: (-c.risk, c.session.student.student_number))


def _status(
    session: ExamSession, attendance: Attendance | None, now: datetime, stale_after: float
) -> str:
    if session.status == ExamSession.Status.FINISHED:
        return "finished"
    if session.last_seen:
        silent = (now - session.last_seen).total_seconds()
        return "disconnected" if silent > stale_after else "active"
    return "checked_in" if attendance else "waiting"


def identity(attendance: Attendance | None, *, has_reference: bool) -> str:
    """The check-in's identity result as the card shows it (dashboard.js: `identityOf`)."""
    if attendance is None:
        return ""
    if attendance.verified is False:
        return "not_verified"
    # Without an enrolment photo nothing was compared: never shown as verified.
    if not has_reference:
        return "no_reference"
    return "verified" if attendance.verified else "not_checked"


def alert_feed(*, flags: list[Flag]) -> list[dict]:
    """The flags as the socket pushes them (newest first), for dashboard.js to lay out; of the
    evidence only what the page shows (an identity flag's distance and P(not the student)),
    which keeps a thousand alerts' page small."""
    return [{**flag_event(flag), "evidence": _identity_evidence(flag)} for flag in flags]


def _identity_evidence(flag: Flag) -> dict:
    if flag.kind == Flag.Kind.LIVENESS_FAILED:
        return {"phase": (flag.evidence or {}).get("phase")}
    if flag.kind != Flag.Kind.IDENTITY_MISMATCH:
        return {}
    evidence = flag.evidence or {}
    shown = {"distance": flag.identity_distance, "p_impostor": evidence.get("p_impostor")}
    # The face matched another student enrolled in this exam (someone sitting for them).
    for key in ("matches", "anchor_distance", "enrolment_distance"):
        if evidence.get(key) is not None:
            shown[key] = evidence[key]
    return shown


def exam_session_or_404(*, exam: Exam, session_id: int) -> ExamSession:
    """One of the exam's sessions; another exam's answers 404 like a missing one."""
    return get_object_or_404(
        ExamSession.objects.select_related("student"), pk=session_id, exam=exam
    )
