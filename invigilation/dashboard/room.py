"""What the room page shows of an exam held in a room: each camera's latest reading, the roster
by what the kiosk and the cameras saw, the seat plan and the room's alerts. Frames themselves
stay in Redis (rooms/frames.py): only their readings are read here."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.urls import reverse
from django.utils import timezone

from invigilation.decisions.room import RoomSettings
from invigilation.exams.models import Exam, ExamSession
from invigilation.proctoring.models import Flag
from invigilation.proctoring.selectors import flags_visible_to
from invigilation.rooms import frames
from invigilation.rooms.models import Camera
from invigilation.rooms.selectors import cameras_of

# The rules' own threshold: a student is "not seen" on this page when the rule would say so.
NOT_SEEN_MINUTES = RoomSettings().not_seen_minutes
ALERT_LIMIT = 200  # newest first; older ones are in the review queue
FACE_STATES = ("identified", "unknown", "ambiguous", "too_small")
ROOM_KINDS = (
    Flag.Kind.UNKNOWN_PERSON,
    Flag.Kind.NOT_CHECKED_IN,
    Flag.Kind.NOT_SEEN,
    Flag.Kind.TOO_MANY_FACES,
    Flag.Kind.SEAT_MISMATCH,
    Flag.Kind.TWO_SEATS,
)
KIOSK_KINDS = (
    Flag.Kind.ALREADY_CHECKED_IN,
    Flag.Kind.NOT_ENROLLED,
    Flag.Kind.NO_MATCH,
    Flag.Kind.LIVENESS_FAILED,
)
STATE_LABELS = {
    "present": "present",
    "not_seen": "not seen",
    "arriving": "checked in, not seen yet",
    "seen_not_checked_in": "seen, not checked in",
    "not_checked_in": "not checked in",
    "finished": "finished",
}


@dataclass(frozen=True)
class CameraView:
    camera: Camera
    analysed_at: datetime | None  # None: no frame analysed in the room view's lifetime
    faces: dict[str, int]  # face state -> how many in the latest frame


@dataclass(frozen=True)
class RosterEntry:
    session: ExamSession
    seat: str
    seat_assigned: bool  # the pre-assigned seat: the kiosk has not given one yet
    checked_in_at: datetime | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    state: str

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class Seat:
    label: str
    entry: RosterEntry | None


def camera_views(*, exam: Exam) -> list[CameraView]:
    return [_camera_view(camera) for camera in cameras_of(exam=exam)]


def _camera_view(camera: Camera) -> CameraView:
    latest = frames.latest_view(camera)
    if latest is None:
        return CameraView(camera, None, dict.fromkeys(FACE_STATES, 0))
    readings = latest[1]
    faces = dict.fromkeys(FACE_STATES, 0)
    for face in readings["faces"]:
        faces[face["state"]] = faces.get(face["state"], 0) + 1
    return CameraView(camera, datetime.fromtimestamp(readings["at"], tz=UTC), faces)


def roster(*, exam: Exam, now: datetime | None = None) -> list[RosterEntry]:
    """Every enrolled student, by student number, with their state in the room."""
    now = now or timezone.now()
    sessions = exam.sessions.select_related("student", "attendance", "room_sighting").order_by(
        "student__student_number"
    )
    return [_entry(session, now) for session in sessions]


def _entry(session: ExamSession, now: datetime) -> RosterEntry:
    attendance = getattr(session, "attendance", None)
    sighting = getattr(session, "room_sighting", None)
    checked_in_at = attendance.checked_in_at if attendance else None
    last_seen_at = sighting.last_seen_at if sighting else None
    return RosterEntry(
        session=session,
        seat=(attendance.seat if attendance else "") or session.assigned_seat,
        seat_assigned=not (attendance and attendance.seat) and bool(session.assigned_seat),
        checked_in_at=checked_in_at,
        first_seen_at=sighting.first_seen_at if sighting else None,
        last_seen_at=last_seen_at,
        state=roster_state(
            finished=session.status == ExamSession.Status.FINISHED,
            checked_in_at=checked_in_at,
            last_seen_at=last_seen_at,
            now=now,
        ),
    )


def roster_state(
    *,
    finished: bool,
    checked_in_at: datetime | None,
    last_seen_at: datetime | None,
    now: datetime,
) -> str:
    """One of STATE_LABELS. A student checked in less than NOT_SEEN_MINUTES ago and not seen
    yet is "arriving", not "not seen": the rule gives them that long too."""
    if finished:
        return "finished"
    window = timedelta(minutes=NOT_SEEN_MINUTES)
    if checked_in_at is None:
        return "not_checked_in" if last_seen_at is None else "seen_not_checked_in"
    if last_seen_at is not None and now - last_seen_at < window:
        return "present"
    return "arriving" if now - checked_in_at < window else "not_seen"


def seat_grid(*, exam: Exam, entries: list[RosterEntry]) -> list[list[Seat]]:
    """The plan's rows from A (the front) with each seat's student; [] without a plan. A seat
    taken at the kiosk wins over the same seat pre-assigned to someone else."""
    plan = exam.seat_plan
    if not plan.exists:
        return []
    holders = {e.seat: e for e in entries if e.seat and e.seat_assigned}
    holders |= {e.seat: e for e in entries if e.seat and not e.seat_assigned}
    labels = plan.labels()
    return [
        [Seat(label, holders.get(label)) for label in labels[start : start + plan.columns]]
        for start in range(0, len(labels), plan.columns)
    ]


def counts(*, entries: list[RosterEntry], cameras: list[CameraView]) -> dict[str, int]:
    states = [e.state for e in entries]
    return {
        "enrolled": len(entries),
        "checked_in": sum(e.checked_in_at is not None for e in entries),
        "present": states.count("present"),
        "not_seen": states.count("not_seen"),
        "unknown_faces": sum(c.faces.get("unknown", 0) for c in cameras),
    }


def room_alerts(*, user: AbstractBaseUser | AnonymousUser, exam: Exam) -> list[Flag]:
    """The exam's flags of the room cameras and the kiosk, newest first, at most ALERT_LIMIT."""
    flags = flags_visible_to(user=user).filter(exam=exam, kind__in=ROOM_KINDS + KIOSK_KINDS)
    return list(flags.order_by("-raised_at")[:ALERT_LIMIT])


def picture_url(flag: Flag) -> str:
    """The flag's whole-frame thumbnail, else its snapshot; "" when it kept neither."""
    if flag.thumbnail:
        return reverse("flag-thumbnail", args=[flag.pk])
    return reverse("flag-snapshot", args=[flag.pk]) if flag.snapshot else ""


def room_state(
    *, user: AbstractBaseUser | AnonymousUser, exam: Exam, now: datetime | None = None
) -> dict:
    """What the page refreshes every few seconds, JSON (room_view.js); never the frames."""
    entries = roster(exam=exam, now=now)
    cameras = camera_views(exam=exam)
    return {
        "counts": counts(entries=entries, cameras=cameras),
        "cameras": [_camera_json(c) for c in cameras],
        "roster": [_entry_json(e) for e in entries],
        "alerts": [_alert_json(f) for f in room_alerts(user=user, exam=exam)],
    }


def _camera_json(view: CameraView) -> dict:
    at = view.analysed_at.isoformat() if view.analysed_at else None
    return {"id": view.camera.pk, "analysed_at": at, "faces": view.faces}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _entry_json(entry: RosterEntry) -> dict:
    return {
        "number": entry.session.student.student_number,
        "name": entry.session.student.full_name,
        "seat": entry.seat,
        "seat_assigned": entry.seat_assigned,
        "checked_in_at": _iso(entry.checked_in_at),
        "first_seen_at": _iso(entry.first_seen_at),
        "last_seen_at": _iso(entry.last_seen_at),
        "state": entry.state,
        "state_label": entry.state_label,
    }


def _alert_json(flag: Flag) -> dict:
    student = flag.session.student if flag.session_id else None
    return {
        "id": flag.pk,
        "raised_at": flag.raised_at.isoformat(),
        "kind": flag.get_kind_display(),
        "who": f"{student.full_name} ({student.student_number})" if student else "the room",
        "message": flag.message,
        "review": flag.get_review_state_display(),
        "review_state": flag.review_state,
        "picture": picture_url(flag),
    }
