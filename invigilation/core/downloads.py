"""Safe downloads: attachment headers for any file name, and CSV that spreadsheets never run."""

import csv
import re
from collections.abc import Iterable
from typing import IO
from urllib.parse import quote


def content_disposition(filename: str) -> str:
    """`attachment` with the name both as plain ASCII (`filename`) and exactly (`filename*`,
    RFC 6266/5987): whatever a name holds (quotes, new lines), it stays one header value."""
    printable = "".join(char for char in filename if char.isprintable())
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", printable)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(printable, safe='')}"


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """Text that a spreadsheet shows as typed, never runs (OWASP: prefix a quote). Numbers and
    other values the code wrote itself pass as they are, so -0.5 stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(out: IO[str], header: list[str], rows: Iterable[Iterable[object]]) -> None:
    """A CSV that Excel opens as UTF-8 (it needs the BOM), every cell through csv_cell."""
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
