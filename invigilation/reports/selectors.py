"""Reads behind the post-exam report: outcomes, summary, attendance, flags, timelines."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from invigilation.core.clock import format_time
from invigilation.exams.models import Exam, ExamSession
from invigilation.kiosk.models import KioskAttempt
from invigilation.proctoring.models import CheckInAttempt, Flag, FrameRecord
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.selectors import reference_photo_ids

LATE_AFTER = timedelta(minutes=10)
UPHELD = (Flag.Review.CONFIRMED, Flag.Review.ESCALATED)


class Outcome(StrEnum):
    """What the exam came to for one student; every report view and export shows this."""

    TO_REVIEW = "to review"  # a flag is still open
    FLAGGED = "flagged"  # a flag was confirmed or escalated, none is open
    CLEAN = "clean"  # took part: no flags, or dismissed ones only
    ABSENT = "absent"  # no check-in, no frame, no flag


@dataclass(frozen=True)
class AttendanceRow:
    session: ExamSession
    checked_in_at: datetime | None
    verified: bool | None
    distance: float | None
    late: bool
    streamed: bool  # at least one frame was analysed
    has_reference: bool  # an enrolment photo identity checks compare against
    flags: int
    open_flags: int
    upheld_flags: int  # confirmed or escalated
    # Exams in a room: the seat given at the kiosk, whether the kiosk checked them in, and when
    # the room's cameras first and last identified them.
    seat: str = ""
    at_kiosk: bool = False
    seen_from: datetime | None = None
    seen_until: datetime | None = None

    @property
    def took_part(self) -> bool:
        return bool(self.checked_in_at or self.streamed or self.seen_from or self.flags)

    @property
    def outcome(self) -> Outcome:
        # Order matters: an open flag needs a person whatever else was decided, and a student
        # who streamed or was flagged without checking in still took part.
        if self.open_flags:
            return Outcome.TO_REVIEW
        if self.upheld_flags:
            return Outcome.FLAGGED
        if not self.took_part:
            return Outcome.ABSENT
        return Outcome.CLEAN

    @property
    def absent(self) -> bool:
        return self.outcome == Outcome.ABSENT

    @property
    def identity(self) -> str:
        """The check-in's identity result in words, the same on the page, PDF and CSV."""
        if self.checked_in_at is None:
            return "not checked in"
        if self.verified is not None:
            return "verified" if self.verified else "NOT verified"
        # Nothing was compared: never shown as if the student had been checked.
        return "not checked" if self.has_reference else "no photo: not checked"

    @property
    def room_text(self) -> str:
        """Exams in a room, in words: kiosk, seat, and when the cameras saw the student."""
        parts = ["at the kiosk"] if self.at_kiosk else []
        parts += [f"seat {self.seat}"] if self.seat else []
        if self.seen_from:
            seen = f"{format_time(self.seen_from)}-{format_time(self.seen_until)}"
            parts.append(f"seen by the cameras {seen}")
        return ", ".join(parts)

    @property
    def check_in_source(self) -> str:
        if self.checked_in_at is None:
            return ""
        return "kiosk" if self.at_kiosk else "online"

    @property
    def clean(self) -> bool:
        return self.outcome == Outcome.CLEAN


def attendance_rows(*, exam: Exam) -> list[AttendanceRow]:
    confirmed = KioskAttempt.objects.filter(
        session=OuterRef("pk"), decision=KioskAttempt.Decision.CONFIRMED
    )
    sessions = (
        exam.sessions.select_related("student", "attendance", "room_sighting")
        .annotate(
            flag_count=Count("flags"),
            open_count=Count("flags", filter=Q(flags__review_state=Flag.Review.OPEN)),
            upheld_count=Count("flags", filter=Q(flags__review_state__in=UPHELD)),
            streamed=Exists(FrameRecord.objects.filter(session=OuterRef("pk"))),
            has_reference=Exists(
                EnrolmentPhoto.objects.filter(student=OuterRef("student"), embedding__isnull=False)
            ),
            at_kiosk=Exists(confirmed),
        )
        .order_by("student__student_number")
    )
    return [_row(exam, session) for session in sessions]


def _row(exam: Exam, session: ExamSession) -> AttendanceRow:
    attendance = getattr(session, "attendance", None)
    sighting = getattr(session, "room_sighting", None)
    checked_in = attendance.checked_in_at if attendance else None
    return AttendanceRow(
        session=session,
        checked_in_at=checked_in,
        verified=attendance.verified if attendance else None,
        distance=attendance.verification_distance if attendance else None,
        late=bool(checked_in and checked_in > exam.starts_at + LATE_AFTER),
        streamed=session.streamed,
        has_reference=session.has_reference,
        flags=session.flag_count,
        open_flags=session.open_count,
        upheld_flags=session.upheld_count,
        seat=attendance.seat if attendance else "",
        at_kiosk=session.at_kiosk,
        seen_from=sighting.first_seen_at if sighting else None,
        seen_until=sighting.last_seen_at if sighting else None,
    )


@dataclass(frozen=True)
class Summary:
    """Attendance counts, then one count per outcome: the outcomes add up to `expected`."""

    expected: int
    checked_in: int
    verified: int
    to_review: int
    flagged: int
    clean: int
    absent: int
    by_kind: dict[str, int]
    by_severity: dict[str, int]


def exam_summary(*, rows: list[AttendanceRow], flags: list[Flag]) -> Summary:
    outcomes = Counter(row.outcome for row in rows)
    kinds = dict(Flag.Kind.choices)
    severities = dict(Flag.Severity.choices)
    return Summary(
        expected=len(rows),
        checked_in=sum(r.checked_in_at is not None for r in rows),
        verified=sum(r.verified is True for r in rows),
        to_review=outcomes[Outcome.TO_REVIEW],
        flagged=outcomes[Outcome.FLAGGED],
        clean=outcomes[Outcome.CLEAN],
        absent=outcomes[Outcome.ABSENT],
        by_kind={kinds[k]: n for k, n in Counter(f.kind for f in flags).items()},
        by_severity={
            severities[s]: n for s, n in sorted(Counter(f.severity for f in flags).items())
        },
    )


@dataclass(frozen=True)
class RosterMatch:
    """The face of an identity flag belongs to another student enrolled in the same exam."""

    session_id: int
    student_number: str
    name: str
    distance: float | None
    photo: EnrolmentPhoto | None  # the matched student's reference photo

    @property
    def text(self) -> str:
        distance = "" if self.distance is None else f" (distance {self.distance:.2f})"
        return (
            f"The face matches {self.student_number} {self.name}, who is enrolled in this "
            f"exam{distance}."
        )


@dataclass(frozen=True)
class IdentityCheck:
    """An identity flag's comparison: the enrolment photo the snapshot is compared against."""

    photo: EnrolmentPhoto | None  # None: the student has no reference photo
    distance: float | None
    p_impostor: float | None  # calibrated probability that the face is not the student
    match: RosterMatch | None = None  # whom the face belongs to, when it is another student's
    anchor_distance: float | None = None  # to the face verified at check-in
    enrolment_distance: float | None = None  # to the enrolment photo

    @property
    def distances_text(self) -> str:
        parts = []
        if self.enrolment_distance is not None:
            parts.append(f"to the enrolment photo {self.enrolment_distance:.2f}")
        if self.anchor_distance is not None:
            parts.append(f"to the face verified at check-in {self.anchor_distance:.2f}")
        return ("distance " + ", ".join(parts)) if parts else ""

    @property
    def text(self) -> str:
        """The measurements in words, the same on the page and in the PDF."""
        if self.photo is None:
            return "no reference photo: identity not checked"
        distance = (
            "distance not recorded" if self.distance is None else f"distance {self.distance:.2f}"
        )
        if self.p_impostor is None:
            return f"{distance}, probability not computed"
        return f"{distance}, probability not the student {self.p_impostor:.2f}"


@dataclass(frozen=True)
class ReportFlag:
    flag: Flag
    identity: IdentityCheck | None  # identity flags only

    @property
    def evidence_text(self) -> str:
        # The frame's measurements and the roster match are shown on their own.
        shown = {k: v for k, v in self.flag.evidence.items() if k not in ("frame", "matches")}
        return ", ".join(
            f"{k} {round(v, 3) if isinstance(v, float) else v}" for k, v in shown.items()
        )


@dataclass(frozen=True)
class CheckIns:
    """One student's check-in attempts, oldest first."""

    row: AttendanceRow
    attempts: list[CheckInAttempt]


@dataclass(frozen=True)
class ExamReport:
    rows: list[AttendanceRow]
    summary: Summary
    flags: list[ReportFlag]
    check_ins: list[CheckIns] = field(default_factory=list)
    kiosk_attempts: list[KioskAttempt] = field(default_factory=list)

    @property
    def in_room(self) -> bool:
        """Seats, the kiosk or the room's cameras were part of this exam."""
        return bool(self.kiosk_attempts) or any(r.seat or r.seen_from for r in self.rows)

    def timelines(self) -> list[tuple[AttendanceRow, list[ReportFlag]]]:
        """Every student who took part, with all their flags (a flagged one is never absent)."""
        by_session: dict[int, list[ReportFlag]] = {}
        for entry in self.flags:
            by_session.setdefault(entry.flag.session_id, []).append(entry)
        return [(r, by_session.get(r.session.pk, [])) for r in self.rows if not r.absent]


def exam_report(*, exam: Exam) -> ExamReport:
    rows = attendance_rows(exam=exam)
    flags = list(exam_flags(exam=exam).prefetch_related("reviews__reviewer"))
    return ExamReport(
        rows=rows,
        summary=exam_summary(rows=rows, flags=flags),
        flags=_with_identity(flags),
        check_ins=check_in_attempts(exam=exam, rows=rows),
        kiosk_attempts=kiosk_attempts(exam=exam),
    )


def kiosk_attempts(*, exam: Exam) -> list[KioskAttempt]:
    """Every candidate at the entrance kiosk, in order: who it found (or why not), the
    distance, the seat and the invigilator's decision."""
    attempts = exam.kiosk_attempts.select_related("session__student", "decided_by")
    return list(attempts.defer("embeddings").order_by("attempted_at", "pk"))


def check_in_attempts(*, exam: Exam, rows: list[AttendanceRow]) -> list[CheckIns]:
    """Every student who tried to check in, with each attempt (outcome, time, distance,
    snapshot), in the attendance list's order."""
    by_session: dict[int, list[CheckInAttempt]] = {}
    attempts = CheckInAttempt.objects.filter(session__exam=exam).order_by("attempted_at", "pk")
    for attempt in attempts.defer("anchor"):
        by_session.setdefault(attempt.session_id, []).append(attempt)
    return [CheckIns(r, by_session[r.session.pk]) for r in rows if r.session.pk in by_session]


def exam_flags(*, exam: Exam) -> QuerySet[Flag]:
    """Every flag of the exam, whatever the student's attendance or the review state."""
    return (
        Flag.objects.filter(exam=exam)
        .select_related("session__student", "reviewed_by")
        .order_by("raised_at", "pk")
    )


def review_queue(*, exam: Exam) -> list[ReportFlag]:
    """Open flags, most severe and most certain first."""
    flags = exam_flags(exam=exam).filter(review_state=Flag.Review.OPEN)
    return _with_identity(list(flags.order_by("-severity", "-confidence", "raised_at")))


def _with_identity(flags: list[Flag]) -> list[ReportFlag]:
    """Pairs each identity flag with the student's reference photo and its measurements,
    and, when the face is another enrolled student's, with that student's photo."""
    identity_flags = [f for f in flags if f.kind == Flag.Kind.IDENTITY_MISMATCH]
    matched = {int(m["session"]): m for f in identity_flags if isinstance(m := _match_of(f), dict)}
    # The matched student's record, read from their session in the same exam.
    matched_students = dict(
        ExamSession.objects.filter(
            pk__in=matched, exam__in={f.exam_id for f in identity_flags}
        ).values_list("pk", "student_id")
    )
    students = {f.session.student_id for f in identity_flags} | set(matched_students.values())
    photo_ids = reference_photo_ids(student_ids=students)
    photos = EnrolmentPhoto.objects.in_bulk(list(photo_ids.values()))
    people = Student.objects.in_bulk(list(matched_students.values()))

    def roster_match(flag: Flag) -> RosterMatch | None:
        match = _match_of(flag)
        if not isinstance(match, dict) or int(match["session"]) not in matched_students:
            return None
        student_id = matched_students[int(match["session"])]
        student = people.get(student_id)
        return RosterMatch(
            session_id=int(match["session"]),
            # The stored record, not the words the flag kept (the student may be renamed).
            student_number=student.student_number if student else str(match["student_number"]),
            name=student.full_name if student else str(match.get("name", "")),
            distance=match.get("distance"),
            photo=photos.get(photo_ids.get(student_id)),
        )

    def check(flag: Flag) -> IdentityCheck | None:
        if flag.kind != Flag.Kind.IDENTITY_MISMATCH:
            return None
        evidence = flag.evidence or {}
        return IdentityCheck(
            photo=photos.get(photo_ids.get(flag.session.student_id)),
            distance=flag.identity_distance,
            p_impostor=evidence.get("p_impostor"),
            match=roster_match(flag),
            anchor_distance=evidence.get("anchor_distance"),
            enrolment_distance=evidence.get("enrolment_distance"),
        )

    return [ReportFlag(flag, check(flag)) for flag in flags]


def _match_of(flag: Flag) -> dict | None:
    match = (flag.evidence or {}).get("matches")
    if isinstance(match, dict) and str(match.get("session", "")).isdigit():
        return match
    return None


def session_frames(*, session: ExamSession) -> list[FrameRecord]:
    return list(session.frames.order_by("captured_at"))


def timeline(*, session: ExamSession) -> tuple[list[FrameRecord], list[Flag]]:
    return session_frames(session=session), list(session.flags.order_by("raised_at"))
