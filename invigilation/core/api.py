"""Helpers for the API: input that answers 400 rather than 500."""

import io
import re
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# --- Input ---------------------------------------------------------------------------------

# Real time zones lie within these; PostgreSQL refuses offsets from 16 hours up.
MAX_UTC_OFFSET = timedelta(hours=14)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, refused with a message when its offset is no real time zone's
    or it cannot be written in UTC (year 1 east of UTC, 9999 west of it)."""

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None or moment.tzinfo is None:
            return moment
        if abs(moment.utcoffset()) > MAX_UTC_OFFSET:
            raise forms.ValidationError(
                "The UTC offset must lie between -14:00 and +14:00.", code="offset"
            )
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("The date is out of range.", code="range") from None


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class IdFilter(django_filters.NumberFilter):
    """A related object's id, without checking that it exists: an id that does not exist and
    one the user may not see both find nothing, so the answer tells them apart for no one."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        # Within a 64-bit column: a database refuses a larger number (a 500).
        super().__init__(*args, min_value=0, max_value=2**63 - 1, **kwargs)


MAX_JSON_DEPTH = 32
# A string, or an unclosed one to the end: each quote starts one match that never fails, so
# the scan stays linear whatever the body holds.
_JSON_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_DEPTH_STEPS = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (brackets inside strings ignored)."""
    brackets = _JSON_STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEPS.__getitem__, brackets), initial=0))


class JSONParser(parsers.JSONParser):
    """DRF's parser, refusing deep nesting before parsing: Python's json recurses, and a body
    of a few thousand brackets would raise RecursionError (a 500) instead of a 400."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        body = stream.read()
        if json_depth(body) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
