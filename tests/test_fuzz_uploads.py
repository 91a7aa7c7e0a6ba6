"""Bad input, generated: student CSVs, enrolment photos and webcam frames each get a clear
4xx (or a reason per file in the import report), never a 500, and never cost stored data."""

import csv
import hashlib
import io
import os
import re
import struct
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image
from rest_framework.test import APIClient

from invigilation.exams.services import check_in
from invigilation.proctoring import frames
from invigilation.proctoring.frame_processing import process_latest_frame
from invigilation.proctoring.tasks import analyse_latest_frame
from invigilation.students.models import EnrolmentPhoto, Student
from invigilation.students.services import import_photos

pytestmark = pytest.mark.django_db

FUZZ = hypothesis_settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written to the working tree
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # each example undoes its own writes
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
STORED_PHOTO = re.compile(r"enrolment/S00[1-3]/[0-9a-f]{32}\.(jpg|png|webp|bmp)")


def image(fmt: str = "JPEG", size: tuple[int, int] = (48, 64), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 120).save(buffer, fmt)
    return buffer.getvalue()


def claiming_size(data: bytes, fmt: str, width: int, height: int) -> bytes:
    """The image with its header rewritten to claim width x height; the pixels stay."""
    if fmt == "JPEG":
        sof = data.index(b"\xff\xc0")
        return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]
    if fmt == "PNG":
        ihdr = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
        return data[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:]
    return data[:18] + struct.pack("<ii", width, height) + data[26:]  # BMP


@contextmanager
def rolled_back():
    """Every example starts from the same database: what it wrote is undone after it."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def admin_api(exam_admin) -> APIClient:
    client = APIClient()
    client.force_authenticate(exam_admin)
    return client


# ---- student CSV -------------------------------------------------------------------------

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
NUMBERS = st.one_of(
    st.sampled_from(["S001", "s002", "S003"]), st.from_regex(r"[A-Za-z0-9]{1,40}", fullmatch=True)
)
HEADERS = st.sampled_from([
    ("student_number", "full_name", "email"), ("Student No", "Name"), ("full_name", "email"),
    ("student_number",), ("id", "mail"), ("", ""), (),
])  # fmt: skip
DEFECTS = (
    "none", "huge field", "NUL byte", "latin-1", "cp1252", "UTF-16", "UTF-16 without BOM",
    "cut UTF-8", "bare CR", "open quote",
)  # fmt: skip


@st.composite
def bad_csvs(draw) -> bytes:
    """A CSV with a header (maybe lacking columns), rows (good ones updating stored students
    among them) and one defect somewhere."""
    rows = [draw(HEADERS)] + draw(st.lists(st.tuples(st.one_of(NUMBERS, TEXT), TEXT, TEXT)))
    defect = draw(st.sampled_from(DEFECTS))
    at = draw(st.integers(0, len(rows)))
    if defect == "huge field":  # past the csv module's field limit, after the good rows
        rows.insert(at, ("S9", "x" * 200_000))
    elif defect == "NUL byte":
        rows.insert(at, ("S9", "Nul\x00Name"))
    elif defect == "bare CR":
        rows.insert(at, ("S9\rS10", "Carriage Return"))
    buffer = io.StringIO()
    writer = csv.writer(buffer) if draw(st.booleans()) else None
    for row in rows:
        if writer:
            writer.writerow(row)
        else:  # unquoted: delimiters and quotes inside cells are left to break the format
            buffer.write(",".join(row) + "\n")
    text = buffer.getvalue() + ('"unterminated,\n' if defect == "open quote" else "")
    if defect in ("latin-1", "cp1252"):
        return text.encode(defect, errors="replace") + "Zoë,Müller\n".encode(defect)
    if defect == "UTF-16":
        return text.encode("utf-16")
    if defect == "UTF-16 without BOM":
        return text.encode("utf-16-le")
    if defect == "cut UTF-8":
        return (text + "Zoë").encode()[:-1]
    return text.encode()


def students_now() -> dict[str, tuple[str, str]]:
    return {s.student_number: (s.full_name, s.email) for s in Student.objects.all()}


def import_csv(api: APIClient, data: bytes):
    upload = SimpleUploadedFile("students.csv", data, content_type="text/csv")
    return api.post(reverse("student-import-csv"), {"file": upload}, format="multipart")


def check_csv_answer(response, before: dict[str, tuple[str, str]]) -> None:
    assert response.status_code in (200, 400), response.content[:500]
    after = students_now()
    if response.status_code == 400:
        assert response.json()  # "detail", or the form's complaint (an empty file)
        assert after == before  # a rejected file changes nothing, not even its good rows
        return
    report = response.json()
    assert report["outcomes"] and all(o["message"] for o in report["outcomes"])
    assert report["succeeded"] + report["failed"] == len(report["outcomes"])
    updated = {o["message"].split()[1] for o in report["outcomes"] if o["message"][:7] == "updated"}
    for number, stored in before.items():
        assert number in after
        assert after[number] == stored or number in updated
    assert not any("\x00" in name for name, _ in after.values())


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes_as_a_student_csv(admin_api, students, data):
    before = students_now()
    with rolled_back():
        check_csv_answer(import_csv(admin_api, data), before)


@FUZZ
@given(data=bad_csvs())
def test_malformed_student_csvs(admin_api, students, data):
    before = students_now()
    with rolled_back():
        check_csv_answer(import_csv(admin_api, data), before)


def test_a_file_rejected_after_good_rows_changes_nothing(admin_api, students):
    data = b"student_number,full_name\nS001,Renamed\nS77,New\nS78," + b"x" * 200_000 + b"\n"
    response = import_csv(admin_api, data)
    assert response.status_code == 400 and "field limit" in response.json()["detail"]
    assert Student.objects.get(student_number="S001").full_name == "Ada Lovelace"
    assert not Student.objects.filter(student_number="S77").exists()


def test_old_mac_line_endings_are_rows(admin_api):
    response = import_csv(admin_api, b"student_number,full_name\rS5,Kay\rS6,Lee\r")
    assert response.json()["succeeded"] == 2


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), bad_csvs()))
def test_the_admin_import_page_explains_instead_of_failing(client, exam_admin, students, data):
    client.force_login(exam_admin)
    before = students_now()
    with rolled_back():
        upload = SimpleUploadedFile("students.csv", data, content_type="text/csv")
        response = client.post(reverse("admin:students_student_import_csv"), {"file": upload})
        assert response.status_code == 200
        page = response.content.decode()
        if "succeeded" not in page:  # the file was refused, with a reason on the page
            assert "messagelist" in page or "errorlist" in page
            assert students_now() == before


# ---- enrolment photos --------------------------------------------------------------------

FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
TRICKY_NAMES = [
    "S002.jpg", "../../S002.jpg", "/etc/S002.png", "..\\..\\S003.bmp", "S002/../../x.jpg", "S002",
    ".S002.jpg", "S002.jpg.exe", "S003 " * 60 + ".jpg", "S001.jpg", "S002.zip",
]  # fmt: skip
NAMES = st.one_of(
    st.sampled_from(TRICKY_NAMES),
    st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=60),
).filter(lambda name: os.path.basename(name) not in ("", ".", ".."))  # the test client's rule


@st.composite
def bad_photos(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "cut", "flipped", "claims size", "empty", "nested"]))
    if kind == "random":
        return draw(st.binary(max_size=3000))
    if kind == "empty":
        return b""
    if kind == "nested":
        return zip_of({"S002.jpg": image()})
    if kind == "claims size":  # a decompression bomb's header, up to 65535 x 65535
        fmt = draw(st.sampled_from(["JPEG", "PNG", "BMP"]))
        width, height = draw(st.integers(1, 65535)), draw(st.integers(1, 65535))
        return claiming_size(image(fmt), fmt, width, height)
    data = image(draw(st.sampled_from(FORMATS)), (draw(st.integers(1, 80)), 40))
    if kind == "cut":
        return data[: draw(st.integers(0, len(data) - 1))]
    flipped = bytearray(data)
    for position in draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8)):
        flipped[position] ^= 0xFF
    return bytes(flipped)


def entry(name: str) -> zipfile.ZipInfo:
    """A member dated once for all: an example replays to the same bytes."""
    return zipfile.ZipInfo(name, date_time=(2024, 5, 1, 9, 0, 0))


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(entry(name), data, compress_type=method)
    return buffer.getvalue()


def symlink_entry() -> zipfile.ZipInfo:
    info = entry("S002_link.jpg")
    info.external_attr = 0o120777 << 16  # a Unix symlink: its target is the content
    return info


@st.composite
def bad_archives(draw) -> bytes:
    """Zips of traps: paths out of the folder, symlinks, nested zips, bombs, bad photos; then
    maybe damaged bytes on top."""
    limit = 100_000  # PHOTO_MAX_BYTES in these tests
    traps = {
        "../../S002.jpg": image(),
        "/abs/S003.png": image("PNG"),
        "C:\\x\\S002.jpg": image(),
        "S002.zip": zip_of({"S002.jpg": image()}),
        "S003.jpg": b"\x00" * (limit + 1),
        "S002_empty.jpg": b"",
        "S003_dir/": b"",
        **{f"S00{i % 3 + 1}_{i}.bmp": b"\x00" * limit for i in range(12)},  # 1.1 MiB unpacked
    }
    names = draw(st.lists(st.sampled_from(sorted(traps)), min_size=1, max_size=14, unique=True))
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                   zipfile.ZIP_LZMA]))  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(entry(name), traps[name], compress_type=method)
        for photo in draw(st.lists(bad_photos(), max_size=3)):
            archive.writestr(entry(f"S002_{len(archive.filelist)}.jpg"), photo, method)
        if draw(st.booleans()):
            archive.writestr(symlink_entry(), "../../../../etc/passwd", method)
    data = bytearray(buffer.getvalue())
    for position in draw(st.lists(st.integers(0, len(data) - 1), max_size=4)):
        data[position] ^= 0xFF
    return bytes(data[: draw(st.integers(1, len(data)))] if draw(st.booleans()) else data)


@pytest.fixture
def stored_photo(students, settings) -> EnrolmentPhoto:
    settings.PHOTO_FACE_CHECKER = "none"  # file handling here; the face check has its own test
    settings.PHOTO_MAX_BYTES = 100_000
    settings.PHOTO_ZIP_MAX_BYTES = 2**20
    import_photos(uploads=[("S001.jpg", image(size=(80, 100)))])
    return EnrolmentPhoto.objects.get()


def upload_photos(api: APIClient, files: list[tuple[str, bytes]]):
    uploads = [SimpleUploadedFile(name, data, content_type="image/jpeg") for name, data in files]
    return api.post(reverse("student-upload-photos"), {"files": uploads}, format="multipart")


def check_photo_answer(response, photo: EnrolmentPhoto, root: Path, media: Path) -> None:
    assert response.status_code in (200, 400), response.content[:500]
    if response.status_code == 200:
        report = response.json()
        assert report["outcomes"] and all(o["message"] for o in report["outcomes"])
        assert report["succeeded"] + report["failed"] == len(report["outcomes"])
    else:
        assert response.json()  # the form's complaint, e.g. no file in the request
    # Nothing stored is lost, and nothing lands anywhere but under a random name in media.
    kept = EnrolmentPhoto.objects.get(pk=photo.pk)
    assert hashlib.sha256(Path(kept.image.path).read_bytes()).hexdigest() == photo.sha256
    for path in (p for p in root.rglob("*") if p.is_file()):
        assert STORED_PHOTO.fullmatch(path.relative_to(media).as_posix()), path


@FUZZ
@given(files=st.lists(st.tuples(NAMES, bad_photos()), min_size=1, max_size=4))
def test_bad_photo_files_are_reported_one_by_one(
    admin_api, stored_photo, settings, tmp_path, files
):
    with rolled_back():
        response = upload_photos(admin_api, files)
        check_photo_answer(response, stored_photo, tmp_path, settings.MEDIA_ROOT)


@FUZZ
@given(archive=bad_archives())
def test_zip_traps_are_reported_one_by_one(admin_api, stored_photo, settings, tmp_path, archive):
    with rolled_back():
        response = upload_photos(admin_api, [("photos.zip", archive)])
        check_photo_answer(response, stored_photo, tmp_path, settings.MEDIA_ROOT)


def test_a_zip_bomb_of_many_small_members_is_refused_before_unpacking(stored_photo):
    bomb = zip_of({f"S002_{i}.jpg": b"\x00" * 100_000 for i in range(11)})
    assert len(bomb) < 5_000
    report = import_photos(uploads=[("bomb.zip", bomb)])
    assert [(o.ok, o.message) for o in report.outcomes] == [
        (False, "bomb.zip: it unpacks to 1.0 MB; at most 1 MB.")
    ]


def test_an_archive_without_photos_says_so(stored_photo):
    archive = zip_of({"folder/": b"", "__MACOSX/._S002.jpg": b"x", ".DS_Store": b"x"})
    report = import_photos(uploads=[("empty.zip", archive)])
    assert [(o.ok, o.message) for o in report.outcomes] == [
        (False, "empty.zip: the archive holds no photos.")
    ]


def test_an_empty_file_in_a_batch_is_reported_on_its_own_line(admin_api, stored_photo):
    response = upload_photos(admin_api, [("S002.jpg", image()), ("S003.jpg", b"")])
    assert [(o["ok"], o["message"]) for o in response.json()["outcomes"]] == [
        (True, "added to S002; checking the face…"), (False, "the file is empty")
    ]  # fmt: skip


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP"])
def test_a_header_claiming_50000_x_50000_pixels_is_refused(stored_photo, fmt):
    bomb = claiming_size(image(fmt), fmt, 50_000, 50_000)
    [outcome] = import_photos(uploads=[(f"S002.{fmt.lower()}", bomb)]).outcomes
    assert not outcome.ok and "too large" in outcome.message


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_damaged_archives_are_reported_not_raised(stored_photo, method):
    archive = bytearray(zip_of({"S002.jpg": image(size=(300, 300))}, method))
    archive[60:200] = bytes(140)  # inside the compressed data
    report = import_photos(uploads=[("damaged.zip", bytes(archive))])
    assert report.outcomes and not any(o.ok for o in report.outcomes)


@hypothesis_settings(FUZZ, max_examples=25)
@given(
    fmt=st.sampled_from(["JPEG", "PNG", "WEBP", "BMP"]),
    mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16"]),
    size=st.one_of(
        st.tuples(st.integers(1, 400), st.integers(1, 400)),
        st.tuples(st.integers(3990, 4500), st.integers(1, 8)),  # around the face models' limit
    ),
)
def test_odd_but_valid_images_go_through_the_real_face_check(students, settings, fmt, mode, size):
    settings.PHOTO_FACE_CHECKER = "invigilation.students.vision_check.check_photo"
    try:
        data = image(fmt, size, mode)
    except (OSError, KeyError, ValueError):
        assume(False)  # Pillow cannot write that mode in that format
    with rolled_back():
        # Inline: the check a worker runs (students/tasks.py), here in the test's process.
        report = import_photos(uploads=[(f"S002.{fmt.lower()}", data)], check_inline=True)
        [outcome] = report.outcomes
        assert outcome.message and "face check failed" not in outcome.message
        assert EnrolmentPhoto.objects.count() == int(outcome.photo is not None)
        assert outcome.ok == (outcome.photo is not None and outcome.photo.usable)


# ---- webcam frames -----------------------------------------------------------------------

GOOD_FRAME = image(size=(640, 480))


@st.composite
def bad_frames(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "JPEG start", "cut", "wide", "PNG", "other"]))
    if kind == "random":
        return draw(st.binary(max_size=4000))
    if kind == "JPEG start":
        return b"\xff\xd8\xff" + draw(st.binary(max_size=4000))
    if kind == "cut":
        return GOOD_FRAME[: draw(st.integers(0, len(GOOD_FRAME) - 1))]
    if kind == "wide":  # claims more than FRAME_MAX_SIDE, up to a decompression bomb
        width, height = draw(st.integers(1281, 65535)), draw(st.integers(1, 65535))
        return claiming_size(GOOD_FRAME, "JPEG", *draw(st.permutations([width, height])))
    if kind == "PNG":
        return claiming_size(image("PNG"), "PNG", draw(st.integers(1, 65535)), 50_000)
    return image(draw(st.sampled_from(["GIF", "BMP", "WEBP", "TIFF"])))


@st.composite
def garbage_behind_a_header(draw) -> bytes:
    """A readable JPEG header (so ingestion accepts it) with a damaged body."""
    body_at = GOOD_FRAME.index(b"\xff\xda") + 14
    body = bytearray(GOOD_FRAME[body_at:-2])
    for position in draw(st.lists(st.integers(0, len(body) - 1), min_size=1, max_size=50)):
        body[position] = draw(st.integers(0, 255))
    return GOOD_FRAME[:body_at] + bytes(body[: draw(st.integers(0, len(body)))]) + b"\xff\xd9"


@pytest.fixture
def session(sessions, settings):
    settings.FRAME_TTL_SECONDS = 600  # the waiting frame outlives the whole run
    exam = sessions["S001"].exam
    exam.sampling_fps = 5.0
    exam.save()
    check_in(session=sessions["S001"], verified=None)  # frames need a check-in
    return sessions["S001"]


@pytest.fixture
def queued(monkeypatch) -> list:
    """Tasks handed to Celery (recorded: no worker runs here)."""
    calls = []
    monkeypatch.setattr(
        analyse_latest_frame, "apply_async", lambda args, expires: calls.append(args)
    )
    return calls


def post_frame(session, body: bytes, url: str = "frame-ingest"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Session {session.token}")
    return client.post(reverse(url), body, content_type="image/jpeg")


def test_bad_frames_are_refused_and_the_waiting_frame_survives(session, queued):
    assert post_frame(session, GOOD_FRAME).status_code == 202

    @FUZZ
    @given(body=bad_frames(), url=st.sampled_from(["frame-ingest", "check-in"]))
    def refused(body: bytes, url: str) -> None:
        response = post_frame(session, body, url)
        assert response.status_code in (400, 413, 415, 429), (response.status_code, body[:50])
        assert response.json()["detail"]

    refused()
    assert len(queued) == 1  # the good frame's task only
    assert frames.take_latest(session, "fuzz").jpeg == GOOD_FRAME
    frames.release(session, "fuzz")


@FUZZ
@given(body=garbage_behind_a_header())
def test_a_damaged_body_behind_a_good_header_is_dropped_by_the_worker(session, queued, body):
    with rolled_back():
        response = post_frame(session, body)
        assert response.status_code in (202, 400, 429), response.content
        if response.status_code == 202:  # the worker decodes it: dropped or analysed, no error
            record = process_latest_frame(session_id=session.pk)
            assert record is None or record.frame_id
