"""Reading uploaded CSV and photo files into clean records, before anything is stored."""

import csv
import io
import lzma
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile as UploadedFileLike
from PIL import Image, UnidentifiedImageError

ALLOWED_IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp"}
COLUMN_ALIASES = {
    "student_number": {"student_number", "student_no", "student_id", "number", "id"},
    "full_name": {"full_name", "name", "student_name"},
    "email": {"email", "e_mail", "mail"},
}
REQUIRED_COLUMNS = ("student_number", "full_name")
# What reading a damaged archive raises: zipfile's own errors and its decompressors'.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    RuntimeError,
    ValueError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
)


class UploadRejected(ValueError):
    """The whole upload is unusable; the message says why in words for the uploader."""


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class UploadedFile:
    name: str  # where it came from, e.g. "photos.zip/S123.jpg", for messages
    data: bytes | None  # None when it was refused before reading
    problem: str = ""


@dataclass(frozen=True)
class CheckedImage:
    extension: str
    width: int
    height: int


def read_upload(upload: UploadedFileLike, limit: int) -> bytes:
    """The upload's bytes, refused before reading when it is over the limit."""
    if upload.size is not None and upload.size > limit:
        raise UploadRejected(
            f"{upload.name}: {upload.size // 1024} KB is over the {limit // 1024} KB limit."
        )
    return upload.read()


def read_csv_rows(
    data: bytes,
    *,
    aliases: dict[str, set[str]] | None = None,
    required: tuple[str, ...] | None = None,
) -> Iterator[CsvRow]:
    """The file's lines as column -> text with their line numbers. `aliases` names each
    column's accepted headings, `required` the columns that must be there (by default, the
    student import's); the timetable import reads its own columns the same way."""
    aliases = COLUMN_ALIASES if aliases is None else aliases
    required = REQUIRED_COLUMNS if required is None else required
    if len(data) > settings.CSV_IMPORT_MAX_BYTES:
        raise UploadRejected(
            f"The CSV file is {len(data) // 1024} KB; the limit is "
            f"{settings.CSV_IMPORT_MAX_BYTES // 1024} KB."
        )
    text = _decode_text(data)
    if not text.strip():
        raise UploadRejected("The CSV file is empty.")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # newline="": the csv module splits rows itself, so old Mac files ending lines in "\r"
    # read as rows too.
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        columns = _map_columns(next(reader), aliases, required)
        for raw in reader:
            if not any(cell.strip() for cell in raw):
                continue
            values = {
                field: raw[index].strip() if index < len(raw) else ""
                for field, index in columns.items()
            }
            yield CsvRow(line=reader.line_num, values=values)
    except csv.Error as exc:
        raise UploadRejected(
            f"The CSV file is malformed near line {reader.line_num}: {exc}"
        ) from exc


def _decode_text(data: bytes) -> str:
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UploadRejected(
            f"The CSV file is not UTF-8 text (bad byte at position {exc.start}). "
            "Save it as 'CSV UTF-8' and upload it again."
        ) from exc
    if "\x00" in text:
        raise UploadRejected("The file holds binary data; it is not a CSV file.")
    return text


def _map_columns(
    header: list[str], aliases: dict[str, set[str]], required: tuple[str, ...]
) -> dict[str, int]:
    normalised = [cell.strip().lower().replace(" ", "_").replace("-", "_") for cell in header]
    columns: dict[str, int] = {}
    for field, names in aliases.items():
        for index, name in enumerate(normalised):
            if name in names:
                columns[field] = index
                break
    missing = [field for field in required if field not in columns]
    if missing:
        found = ", ".join(repr(cell) for cell in header) or "nothing"
        raise UploadRejected(
            f"The CSV file lacks the column(s) {', '.join(missing)}. "
            f"The first line must name the columns; found {found}."
        )
    return columns


def expand_uploads(name: str, data: bytes) -> Iterator[UploadedFile]:
    """One uploaded file, or each file inside an uploaded zip archive."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        yield from _zip_members(name, data)
    else:
        yield UploadedFile(name=name, data=data)


def _zip_members(archive_name: str, data: bytes) -> Iterator[UploadedFile]:
    if len(data) > settings.PHOTO_ZIP_MAX_BYTES:
        raise UploadRejected(f"{archive_name}: the archive is larger than the upload limit.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir() and _is_photo_candidate(m)]
    except ZIP_ERRORS as exc:
        raise UploadRejected(f"{archive_name}: the archive is corrupt ({exc}).") from exc
    if not members:
        raise UploadRejected(f"{archive_name}: the archive holds no photos.")
    if len(members) > settings.PHOTO_ZIP_MAX_FILES:
        raise UploadRejected(
            f"{archive_name}: {len(members)} files; at most {settings.PHOTO_ZIP_MAX_FILES}."
        )
    limit = settings.PHOTO_MAX_BYTES
    # A member is never read past its declared size, so this bounds what the archive unpacks
    # to (a zip bomb of many small-enough members included).
    unpacked = sum(m.file_size for m in members if m.file_size <= limit)
    if unpacked > settings.PHOTO_ZIP_MAX_BYTES:
        raise UploadRejected(
            f"{archive_name}: it unpacks to {unpacked / 2**20:.1f} MB; "
            f"at most {settings.PHOTO_ZIP_MAX_BYTES / 2**20:.0f} MB."
        )
    for member in members:
        # Only the base name is used: folders and "../" in member names never reach storage.
        label = f"{archive_name}/{PurePosixPath(member.filename).name}"
        if member.file_size > limit:
            yield UploadedFile(label, None, f"too large ({member.file_size // 1024} KB)")
            continue
        try:
            with archive.open(member) as handle:
                content = handle.read(limit + 1)  # never trust the declared size
        except ZIP_ERRORS as exc:
            yield UploadedFile(label, None, f"cannot be extracted ({exc})")
            continue
        if len(content) > limit:
            yield UploadedFile(label, None, "too large once extracted")
            continue
        yield UploadedFile(label, content)


def _is_photo_candidate(member: zipfile.ZipInfo) -> bool:
    path = PurePosixPath(member.filename.replace("\\", "/"))
    hidden = any(
        (part.startswith(".") and part not in {".", ".."}) or part == "__MACOSX"
        for part in path.parts
    )
    return not hidden


def photo_stem(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).stem


def check_image(data: bytes) -> CheckedImage:
    """Decode the whole image, so corrupt or truncated files are caught before storage."""
    if len(data) > settings.PHOTO_MAX_BYTES:
        raise UploadRejected(
            f"too large ({len(data) // 1024} KB; the limit is "
            f"{settings.PHOTO_MAX_BYTES // 1024} KB)"
        )
    if not data:
        raise UploadRejected("the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ALLOWED_IMAGE_FORMATS:
                raise UploadRejected(
                    f"{image.format} images are not accepted; use JPEG, PNG, WebP or BMP"
                )
            width, height = image.size
            if width * height > settings.PHOTO_MAX_PIXELS:
                raise UploadRejected(f"the image is too large ({width}x{height} pixels)")
            image.load()
            return CheckedImage(ALLOWED_IMAGE_FORMATS[image.format], width, height)
    except UploadRejected:
        raise
    except UnidentifiedImageError as exc:
        raise UploadRejected("not an image (or an image format that is not supported)") from exc
    except Image.DecompressionBombError as exc:
        raise UploadRejected("the image is too large to decode safely") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise UploadRejected(f"the image is corrupt or truncated ({exc})") from exc
