"""The room worker: a camera's waiting frame through the hall analysis and the room rules to
flags with a face crop and the whole frame boxed, and the room view kept for the dashboard.

The first tests replace the hall analysis with fixed readings (what the rules and the flags
do with them); the last runs the real one on a hall-dev frame with its roster enrolled."""

import io
import json
import time

import pytest
from django.urls import reverse
from helpers import jpeg
from PIL import Image

from invigilation.exams.models import ExamSession
from invigilation.exams.services import check_in, enrol_students, finish_session
from invigilation.proctoring.frames import PendingFrame
from invigilation.proctoring.models import Flag
from invigilation.rooms import frames, room_processing
from invigilation.rooms.models import Camera
from invigilation.rooms.tasks import analyse_room_frame
from invigilation.students import embeddings
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.vision import hall

pytestmark = pytest.mark.django_db

FRAME = jpeg(size=(1920, 1080))
S001 = hall.RoomFaceReading((100, 100, 160, 170), 0.9, "S001", 0.35)
STRANGER = hall.RoomFaceReading((800, 300, 850, 360), 0.8, None, 0.82)
TINY = hall.RoomFaceReading((1500, 200, 1530, 235), 0.6, None, None)  # too small to identify


@pytest.fixture
def camera(exam, sessions) -> Camera:
    """A camera of `exam`, where S001 has checked in and S002 has not."""
    check_in(session=sessions["S001"], verified=True)
    return Camera.objects.create(exam=exam, name="Front", frames_per_second=1.0)


@pytest.fixture
def readings(monkeypatch) -> list:
    """The faces the (replaced) hall analysis reads in every frame: set by each test."""
    faces: list = []
    monkeypatch.setattr(
        hall, "analyse_room_frame", lambda frame, roster: hall.RoomAnalysis(1920, 1080, faces)
    )
    return faces


def analyse(camera: Camera, at: float, frame_id: str | None = None) -> list[Flag] | None:
    pending = PendingFrame(FRAME, at, frame_id) if frame_id else PendingFrame(FRAME, at)
    frames.put_latest(camera, pending)
    return room_processing.process_latest_room_frame(camera_id=camera.pk, claim=f"c{at}")


def picture(field) -> Image.Image:
    with field.open("rb") as stored:
        return Image.open(io.BytesIO(stored.read())).copy()


def test_a_stranger_seen_in_three_frames_raises_one_flag_with_crop_and_thumbnail(camera, readings):
    readings[:] = [S001, STRANGER, TINY]
    start = time.time()
    assert analyse(camera, start) == [] and analyse(camera, start + 2) == []
    flags = analyse(camera, start + 4)
    kinds = {flag.kind: flag for flag in flags}
    # Three faces, one student checked in: the crowd rule fires on the same frame.
    assert set(kinds) == {Flag.Kind.UNKNOWN_PERSON, Flag.Kind.TOO_MANY_FACES}
    stranger = kinds[Flag.Kind.UNKNOWN_PERSON]
    assert stranger.session is None and stranger.exam == camera.exam
    assert stranger.severity == 3 and stranger.message.startswith("Unknown person in the room")
    assert stranger.evidence["camera"] == {"id": camera.pk, "name": "Front"}
    assert stranger.evidence["box"] == [800, 300, 850, 360] and stranger.evidence["frames"] == 3
    crop = picture(stranger.snapshot)
    assert min(crop.size) >= 160  # a 50 px face, scaled up to be seen
    assert picture(stranger.thumbnail).size == (1280, 720)
    crowd = kinds[Flag.Kind.TOO_MANY_FACES]
    assert not crowd.snapshot and crowd.thumbnail  # about the frame, not one face
    assert analyse(camera, start + 6) == []  # once per episode


def test_a_student_who_never_checked_in_is_flagged_on_their_session(camera, sessions, readings):
    readings[:] = [S001, hall.RoomFaceReading((400, 400, 470, 480), 0.9, "S002", 0.31)]
    start = time.time()
    flags = {
        flag.kind: flag for i in range(3) for flag in analyse(camera, start + 2 * i)
    }  # two faces, one student checked in: one face too many as well
    assert set(flags) == {Flag.Kind.NOT_CHECKED_IN, Flag.Kind.TOO_MANY_FACES}
    unchecked = flags[Flag.Kind.NOT_CHECKED_IN]
    assert unchecked.session == sessions["S002"] and unchecked.snapshot and unchecked.thumbnail
    assert unchecked.evidence["student"] == "S002" and unchecked.evidence["enrolled"] is True


def test_a_finished_student_leaving_the_room_is_neither_a_stranger_nor_a_crowd(
    camera, sessions, readings
):
    finish_session(session=sessions["S001"])
    readings[:] = [S001]
    start = time.time()
    assert [flag for i in range(4) for flag in analyse(camera, start + 2 * i)] == []


def test_the_room_view_keeps_the_frame_and_named_readings(
    camera, readings, client, invigilator, other_invigilator
):
    url = reverse("rooms:room-view", args=[camera.exam_id, camera.pk])
    client.force_login(invigilator)
    nothing = client.get(url)
    assert nothing.status_code == 404 and b"No frame from this camera" in nothing.content
    readings[:] = [S001, STRANGER, TINY]
    analyse(camera, time.time())
    jpeg_kept, kept = frames.latest_view(camera)
    assert jpeg_kept == FRAME
    assert [(f["student"], f["name"], f["state"]) for f in kept["faces"]] == [
        ("S001", "Ada Lovelace", "identified"),
        (None, None, "unknown"),
        (None, None, "too_small"),
    ]
    image = client.get(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image["Cache-Control"] == "private, no-store"
    as_json = client.get(reverse("rooms:room-view-readings", args=[camera.exam_id, camera.pk]))
    assert json.loads(as_json.content)["faces"][0]["student"] == "S001"
    client.force_login(other_invigilator)  # not this exam's
    assert client.get(url).status_code == 404


def test_a_frame_delivered_again_is_not_observed_twice(camera, readings):
    readings[:] = [S001, STRANGER]
    start = time.time()
    analyse(camera, start, frame_id="a" * 32)
    analyse(camera, start + 2, frame_id="b" * 32)
    # The second frame's task ran again after its worker died past the commit.
    assert analyse(camera, start + 2, frame_id="b" * 32) == []
    track = frames.rules_state(camera.exam)["tracks"][0]
    assert track["hits"] == 2  # not 3: the stranger was not flagged off two real frames
    assert frames.counted(camera, "analysed") == 2


def test_a_worker_dying_after_the_commit_does_not_raise_a_flag_twice(camera, readings, monkeypatch):
    readings[:] = [S001, STRANGER]
    start = time.time()
    analyse(camera, start)
    analyse(camera, start + 2)
    save = frames.save_rules_state

    def dies(exam, state):
        raise ConnectionError("the worker's Redis went away after the commit")

    monkeypatch.setattr(frames, "save_rules_state", dies)
    with pytest.raises(ConnectionError):
        analyse(camera, start + 4, frame_id="c" * 32)  # the stranger's flag is committed
    assert Flag.objects.filter(kind=Flag.Kind.UNKNOWN_PERSON).count() == 1
    monkeypatch.setattr(frames, "save_rules_state", save)
    assert analyse(camera, start + 4, frame_id="c" * 32) == []  # delivered again
    assert analyse(camera, start + 6) == []  # the state that fired was saved this time
    assert Flag.objects.filter(kind=Flag.Kind.UNKNOWN_PERSON).count() == 1
    assert frames.counted(camera, "failed") == 1


def test_the_task_takes_the_frame_by_the_cameras_id(camera, readings):
    readings[:] = [S001]
    frames.put_latest(camera, PendingFrame(FRAME, time.time()))
    analyse_room_frame.apply(args=[camera.pk])  # run here, as a worker would
    assert frames.latest_view(camera)[1]["faces"][0]["student"] == "S001"
    assert frames.take_latest(camera, "later") is None  # taken and released


@pytest.fixture
def hall1(shared_data, exam) -> dict:
    """hall-dev's hall1: its 40 roster people enrolled with their photo's embedding (the
    largest face, as the hall evaluation enrols LFW photos: some show part of a bystander),
    the 30 present checked in."""
    from invigilation.vision.hall_evaluation import enrol_roster  # noqa: PLC0415 - face models

    root = shared_data / "hall-dev" / "hall1"
    labels = json.loads((root / "labels.json").read_text())
    students = []
    for number, vectors in enrol_roster(root / "roster").items():
        student = Student.objects.create(student_number=number, full_name=number)
        EnrolmentPhoto.objects.create(
            student=student, extension="jpg", sha256="0" * 64, face_check="accepted",
            embedding=embeddings.to_bytes(vectors),
        )  # fmt: skip
        students.append(student)
    for session in enrol_students(exam=exam, students=students):
        if session.student.student_number in labels["present"]:
            check_in(session=session, verified=True)
    return {"root": root, "labels": labels}


def test_a_real_hall_frame_identifies_the_room_and_flags_the_strangers(hall1, exam):
    camera = Camera.objects.create(exam=exam, name="Hall 1", frames_per_second=1.0)
    start, flags = time.time(), []
    for i, name in enumerate(["f1.jpg", "f2.jpg", "f3.jpg"]):
        frame = (hall1["root"] / "frames" / name).read_bytes()
        frames.put_latest(camera, PendingFrame(frame, start + 2 * i))
        flags += room_processing.process_latest_room_frame(camera_id=camera.pk, claim=name)
    _, readings = frames.latest_view(camera)
    truth = {tuple(face["box"]): face["id"] for face in hall1["labels"]["frames"]["f3.jpg"]}
    named = {_nearest(face["box"], truth): face["student"] for face in readings["faces"]}
    right = sum(1 for box, student in named.items() if student and truth.get(box) == student)
    wrong = sum(1 for box, student in named.items() if student and truth.get(box) != student)
    # Measured: 34 faces read, 28 of the 30 students named right, none wrong.
    assert len(readings["faces"]) >= 30 and right >= 25 and wrong <= 1, (right, wrong)
    strangers = [flag for flag in flags if flag.kind == Flag.Kind.UNKNOWN_PERSON]
    for flag in strangers:
        assert flag.session is None and flag.snapshot and flag.thumbnail
    flagged = {_nearest(flag.evidence["box"], truth) for flag in strangers}
    real = {box for box, student in truth.items() if student is None}
    assert real <= flagged, [flag.message for flag in flags]  # all 3 strangers, after 3 frames
    # Measured: one student (Jeff_Van_Gundy, 0.578 from his photo, past the room threshold
    # 0.56 in all 3 frames) is flagged as unknown too.
    assert len(flagged - real) <= 1
    # Every present student checked in: nobody is flagged for not checking in.
    assert not [flag for flag in flags if flag.kind == Flag.Kind.NOT_CHECKED_IN]
    assert ExamSession.objects.filter(exam=exam, attendance__isnull=False).count() == 30


def _nearest(box: list[int], truth: dict) -> tuple | None:
    """The labelled box overlapping `box` most (None: none overlaps)."""

    def overlap(other: tuple) -> float:
        width = min(box[2], other[2]) - max(box[0], other[0])
        height = min(box[3], other[3]) - max(box[1], other[1])
        return max(0, width) * max(0, height)

    best = max(truth, key=overlap)
    return best if overlap(best) > 0 else None
