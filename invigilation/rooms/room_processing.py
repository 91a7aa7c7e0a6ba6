"""From a room camera's waiting frame to the room rules and, when one fires, a flag.

Worker side only (imported inside the Celery task): it loads the hall's face models.

Seats: a camera calibrated to the exam's seat plan (`Camera.seat_calibration`: where its four
corner seats appear, read on a frame of a given size) gives each face the seat nearest its
box centre (`decisions.seat_map`), the calibration scaled to the analysed frame's size. An
uncalibrated camera, or an exam without a seat plan, leaves every face's seat None: the seat
rules stay silent and "two places" compares boxes of one camera (decisions/room.py).
"""

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import transaction

from invigilation import vision
from invigilation.decisions import seat_map
from invigilation.decisions.room import RoomEvent, RoomFace, RoomFrame, RoomRules, RoomSettings
from invigilation.exams.models import Exam, ExamSession
from invigilation.kiosk.models import KioskAttempt
from invigilation.kiosk.selectors import roster_of
from invigilation.proctoring.frames import PendingFrame
from invigilation.proctoring.models import CheckInAttempt, Flag
from invigilation.proctoring.services import raise_flag
from invigilation.rooms import drawing, frames
from invigilation.rooms.models import Camera
from invigilation.rooms.services import record_sightings
from invigilation.students import embeddings
from invigilation.vision import hall


@dataclass(frozen=True)
class RoomPeople:
    """The exam's students as the room sees them, by student number (the rules' key)."""

    roster: dict[str, list[np.ndarray]]  # every enrolled student with a face reference
    checked_in: dict[str, str | None]  # checked in and not finished: their seat, or None
    finished: frozenset[str]  # left the exam: neither expected nor suspect any more
    sessions: dict[str, ExamSession]
    names: dict[str, str]


def process_latest_room_frame(*, camera_id: int, claim: str | None = None) -> list[Flag] | None:
    """Analyse the camera's waiting frame; the flags it raised, or None when there was no
    frame (expired, or taken by an earlier delivery that finished it)."""
    claim = claim or uuid.uuid4().hex
    camera = Camera.objects.select_related("exam").get(pk=camera_id)
    pending = frames.take_latest(camera, claim)
    if pending is None:
        return None
    with _counted_if_lost(camera, claim):
        people = room_people(camera.exam)
        try:
            analysis = hall.analyse_room_frame(pending.jpeg, people.roster)
        except vision.InvalidImage:
            # Ingestion read the header; a body that still fails is lost, and counted.
            frames.count(camera, "failed")
            frames.release(camera, claim)
            return None
        readings = room_readings(camera, pending, analysis, people)
        flags = _observe(camera, pending, readings, people)
        if flags is not None:
            frames.put_view(camera, pending.jpeg, readings)
            frames.count(camera, "analysed")
    frames.release(camera, claim)
    return flags or []


def _observe(
    camera: Camera, pending: PendingFrame, readings: dict, people: RoomPeople
) -> list[Flag] | None:
    """The frame through the room's rules, under the room's lock (the exam's cameras share
    one state). The state is saved only after the flags are committed: a worker dying before
    the commit leaves the rules as they were for the frame's next delivery, which observes
    the frame again (the same frame on the same state: the same events). One dying between
    the commit and the save leaves flags the next delivery finds (by the frame's id in their
    evidence) and does not raise twice. None: the frame was observed and saved before."""
    exam = camera.exam
    with frames.room_lock(exam):
        if frames.already_analysed(camera, pending.frame_id):
            return None
        rules = RoomRules(room_settings(exam), frames.rules_state(exam))
        events = rules.observe(
            room_frame(camera, pending.received_at, readings, people.finished),
            checked_in=people.checked_in,
            roster=list(people.sessions),  # enrolled, with a face reference or not
        )
        with transaction.atomic():
            raised = Flag.objects.filter(exam=exam, evidence__frame_id=pending.frame_id)
            if events and raised.exists():
                events = []
            flags = [_flag(camera, event, pending, readings, people) for event in events]
            identified = {face["student"] for face in readings["faces"]} & people.sessions.keys()
            seen = [people.sessions[number] for number in identified]
            record_sightings(camera=camera, at=_moment(pending.received_at), sessions=seen)
        frames.save_rules_state(exam, rules.state())
        frames.mark_analysed(camera, pending.frame_id)
    return flags


@contextmanager
def _counted_if_lost(camera: Camera, claim: str) -> Iterator[None]:
    """A frame taken and then lost to an error is counted as failed, not silently gone."""
    try:
        yield
    except Exception:
        frames.count(camera, "failed")
        frames.release(camera, claim)
        raise


def room_people(exam: Exam) -> RoomPeople:
    """Enrolled students' face references (enrolment photos, and the faces of verified
    check-ins, online or confirmed at the kiosk: same day, same person), who is checked in
    (with the seat the kiosk gave)."""
    sessions = {
        s.student.student_number: s
        for s in ExamSession.objects.filter(exam=exam).select_related("student", "attendance")
    }
    roster = roster_of(exam)  # as the kiosk identifies them: by student number
    anchors = CheckInAttempt.objects.filter(session__exam=exam, anchor__isnull=False)
    kiosk = KioskAttempt.objects.filter(
        exam=exam, decision=KioskAttempt.Decision.CONFIRMED, verified=True,
        embeddings__isnull=False,
    )  # fmt: skip
    for number, raw in [
        *anchors.values_list("session__student__student_number", "anchor"),
        *kiosk.values_list("session__student__student_number", "embeddings"),
    ]:
        roster.setdefault(number, []).extend(embeddings.from_bytes(raw))
    finished = ExamSession.Status.FINISHED
    checked_in = {
        number: session.attendance.seat or None
        for number, session in sessions.items()
        if hasattr(session, "attendance") and session.status != finished
    }
    return RoomPeople(
        roster=roster,
        checked_in=checked_in,
        finished=frozenset(n for n, s in sessions.items() if s.status == finished),
        sessions=sessions,
        names={number: session.student.full_name for number, session in sessions.items()},
    )


def room_settings(exam: Exam) -> RoomSettings:
    """The room rules, switched by the exam's checks: identity for the rules that need to know
    who a face is, presence for the absent, multiple faces for the crowd."""
    identity = exam.check_identity
    return RoomSettings(
        unknown_person=identity,
        not_checked_in=identity,
        not_seen=identity and exam.check_presence,
        too_many_faces=exam.check_multiple_faces,
        seat_mismatch=identity,
        two_seats=identity,
    )


def room_readings(
    camera: Camera, pending: PendingFrame, analysis: hall.RoomAnalysis, people: RoomPeople
) -> dict:
    """What was read in the frame, JSON: for the rules, the flags' pictures and the room view."""
    faces = [
        {
            "box": [int(v) for v in face.box],
            "score": round(float(face.score), 3),
            "student": face.student,
            "name": people.names.get(face.student) if face.student else None,
            "distance": None if face.distance is None else round(float(face.distance), 4),
            "ambiguous": face.ambiguous,
            "state": drawing.face_state(
                student=face.student, distance=face.distance, ambiguous=face.ambiguous
            ),
        }
        for face in analysis.faces
    ]
    return {
        "camera": {"id": camera.pk, "name": camera.name},
        "frame_id": pending.frame_id,
        "at": pending.received_at,
        "width": analysis.width,
        "height": analysis.height,
        "faces": faces,
        "timings_ms": analysis.timings_ms,
    }


def room_frame(camera: Camera, at: float, readings: dict, finished: frozenset[str]) -> RoomFrame:
    """The rules' input; the camera's name is its key there, and reads well in messages.
    Students who finished are left out: leaving the room, they are neither expected there nor
    one face too many."""
    seat_of = _seat_finder(camera, readings["width"], readings["height"])
    faces = tuple(
        RoomFace(
            box=tuple(face["box"]),
            seat=seat_of(tuple(face["box"])),
            student=face["student"],
            distance=face["distance"],
            ambiguous=face["ambiguous"],
        )
        for face in readings["faces"]
        if face["student"] not in finished
    )
    return RoomFrame(at=at, camera=camera.name, faces=faces)


def _seat_finder(camera: Camera, width: int, height: int) -> Callable[[seat_map.Box], str | None]:
    """Box -> seat label for this camera's frames of `width` x `height`; every box None when
    the camera is not calibrated, or its calibration no longer fits the exam's plan (saved
    before the plan was removed, or written past the model's validation)."""
    plan = camera.exam.seat_plan
    if not camera.seat_calibration:
        return lambda box: None
    try:
        calibration = seat_map.parse_camera_calibration(camera.seat_calibration)
        seat_map.grid_corners(plan.rows, plan.columns)
    except seat_map.CalibrationError:
        return lambda box: None
    corners = calibration.corners_in(width, height)
    return lambda box: seat_map.seat_for_box(box, corners, plan.rows, plan.columns)


def _flag(
    camera: Camera, event: RoomEvent, pending: PendingFrame, readings: dict, people: RoomPeople
) -> Flag:
    """A flag on the student's session when the event names an enrolled student, else on
    the exam; with the face's crop (when the event is about a face) and the whole frame."""
    box, jpeg = event.evidence.get("box"), pending.jpeg
    evidence = {
        **event.evidence,
        "camera": {"id": camera.pk, "name": camera.name},
        "student": event.student,
        "started_at": event.started_at,
        "frame_id": pending.frame_id,  # a task delivered again does not raise it twice
    }
    return raise_flag(
        session=people.sessions.get(event.student) if event.student else None,
        exam=camera.exam,
        kind=event.kind,
        severity=event.severity,
        message=event.message[:255],
        evidence=evidence,
        raised_at=_moment(event.at),
        snapshot=drawing.face_crop(jpeg, box) if box else None,
        thumbnail=drawing.boxed_frame(jpeg, readings["faces"], highlight=box),
    )


def _moment(at: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(at, tz=dt.UTC)
