"""The admin's exam form: the alert thresholds as named number fields, and the timetable
upload."""

from dataclasses import Field, fields
from typing import NamedTuple

from django import forms
from django.core.exceptions import ValidationError

from invigilation.decisions.rules import RuleSettings
from invigilation.exams.models import Exam


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
    class Meta:
        model = Exam
        # The admin picks the fields from its fieldsets; the raw JSON gives way to the
        # threshold fields, and the invigilators are assigned in their own rows.
        exclude = ["rule_thresholds", "invigilators"]  # noqa: DJ006

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, value in self.instance.rule_thresholds.items():
            if name in self.fields:
                self.initial.setdefault(name, value)

    def clean(self) -> dict:
        cleaned = super().clean()
        # Only the overridden thresholds are stored: a blank field follows the default.
        self.instance.rule_thresholds = {
            name: cleaned[name] for name in THRESHOLD_NAMES if cleaned.get(name) is not None
        }
        return cleaned


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
