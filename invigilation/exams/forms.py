"""The admin's exam form: the alert thresholds as named number fields, the seat plan's CSV
of pre-assigned seats, and the timetable upload."""

from dataclasses import Field, fields
from typing import NamedTuple

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from invigilation.decisions.rules import RuleSettings
from invigilation.exams import seating
from invigilation.exams.models import Attendance, Exam, ExamSession


class Unit(NamedTuple):
    short: str  # in the label
    long: str  # in the help text
    is_the_suffix: bool  # the name's last word only says the unit ("no_face_seconds")


# A threshold's unit, told by the last word of its name.
UNITS = {
    "seconds": Unit("seconds", "seconds", True),
    "checks": Unit("checks", "identity checks in a row", True),
    "limit": Unit("degrees", "degrees of head turn", False),
    "threshold": Unit("0–1", "score from 0 to 1", False),
    "brightness": Unit("0–255", "mean brightness from 0 (black) to 255 (white)", False),
}


def threshold_settings() -> list[Field]:
    """RuleSettings' numeric fields: the thresholds an exam may override."""
    return [
        f
        for f in fields(RuleSettings)
        if isinstance(f.default, int | float) and not isinstance(f.default, bool)
    ]


def _positive(value: float) -> None:
    if value <= 0:
        raise ValidationError("Must be more than 0.")


def _threshold_field(setting: Field) -> forms.Field:
    head, _, last = setting.name.rpartition("_")
    unit = UNITS.get(last)
    words = (head if unit and unit.is_the_suffix else setting.name).replace("_", " ")
    field_class = forms.IntegerField if isinstance(setting.default, int) else forms.FloatField
    return field_class(
        label=words[:1].upper() + words[1:] + (f" ({unit.short})" if unit else ""),
        required=False,
        validators=[_positive],
        help_text=(f"Unit: {unit.long}. " if unit else "")
        + f"Default {setting.default:g}; leave blank for the default.",
        widget=forms.NumberInput(
            attrs={"min": 0, "step": "any", "placeholder": f"{setting.default:g}"}
        ),
    )


THRESHOLD_NAMES = [setting.name for setting in threshold_settings()]


class _ExamForm(forms.ModelForm):
    seat_assignments = forms.FileField(
        label="Pre-assigned seats (CSV)",
        required=False,
        help_text="Columns student_number,seat (e.g. S1000001,C7; a header line is optional). "
        "Replaces every pre-assigned seat of this exam; students left out get the next free "
        "seat in order at the kiosk. Enrol the students first.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    seats: dict[str, str] | None = None  # the CSV's seats once validated

    class Meta:
        model = Exam
        # The admin picks the fields from its fieldsets; the raw JSON gives way to the
        # threshold fields, and the invigilators are assigned in their own rows.
        exclude = ["rule_thresholds", "invigilators"]  # noqa: DJ006

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("seat_rows", "seat_columns"):
            if name in self.fields:  # blank: no seat plan
                self.fields[name].required = False
        for name, value in self.instance.rule_thresholds.items():
            if name in self.fields:
                self.initial.setdefault(name, value)

    def clean_seat_rows(self) -> int:
        return self.cleaned_data.get("seat_rows") or 0

    def clean_seat_columns(self) -> int:
        return self.cleaned_data.get("seat_columns") or 0

    def clean(self) -> dict:
        cleaned = super().clean()
        # Only the overridden thresholds are stored: a blank field follows the default.
        self.instance.rule_thresholds = {
            name: cleaned[name] for name in THRESHOLD_NAMES if cleaned.get(name) is not None
        }
        self.seats = self._seat_assignments(cleaned) if cleaned.get("seat_assignments") else None
        return cleaned

    def _seat_assignments(self, cleaned: dict) -> dict[str, str] | None:
        """The CSV's seats, checked against the plan being saved and the enrolled students;
        every bad line is reported at once (nothing is assigned then)."""
        upload = cleaned["seat_assignments"]
        plan = seating.Plan(cleaned.get("seat_rows") or 0, cleaned.get("seat_columns") or 0)
        if upload.size > settings.CSV_IMPORT_MAX_BYTES:
            self.add_error("seat_assignments", "The file is too large.")
            return None
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            self.add_error("seat_assignments", "The file is not UTF-8 text.")
            return None
        sessions = ExamSession.objects.filter(exam_id=self.instance.pk).select_related("student")
        enrolled = {s.student.student_number: s for s in sessions}
        parsed = seating.parse_assignments(text, plan, enrolled)
        errors = parsed.errors + _taken_by_others(self.instance.pk, parsed.seats)
        if errors:
            self.add_error("seat_assignments", errors)
            return None
        return parsed.seats

    @transaction.atomic
    def save_seat_assignments(self) -> int:
        """Replace the exam's pre-assigned seats with the CSV's (after the exam is saved);
        the number of seats assigned."""
        if not self.seats:
            return 0
        sessions = ExamSession.objects.filter(exam=self.instance)
        sessions.update(assigned_seat="")  # first, so that two students may swap seats
        for number, seat in self.seats.items():
            sessions.filter(student__student_number=number).update(assigned_seat=seat)
        return len(self.seats)


def _taken_by_others(exam_id: int | None, seats: dict[str, str]) -> list[str]:
    """Seats in the CSV where another student already sits (checked in there)."""
    seated = Attendance.objects.filter(session__exam_id=exam_id).exclude(seat="")
    holder = dict(seated.values_list("seat", "session__student__student_number"))
    return [
        f"Seat {seat} ({number}): {holder[seat]} already checked in there."
        for number, seat in seats.items()
        if seat in holder and holder[seat] != number
    ]


# The threshold fields are declared from RuleSettings, so a threshold added there gets its
# field (and its place in the admin's fieldset) without a change here.
ExamForm = type(
    "ExamForm",
    (_ExamForm,),
    {setting.name: _threshold_field(setting) for setting in threshold_settings()},
)


class TimetableImportForm(forms.Form):
    file = forms.FileField(
        label="Timetable CSV",
        help_text="Columns: title, course, start, end, mode, room, invigilators, students "
        "(a header line is required).",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
