from django import forms

from invigilation.exams.models import Exam


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,.zip"}))
        kwargs.setdefault("allow_empty_file", True)  # reported per file, not for the batch
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class StudentCsvImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: student_number, full_name, email (a header line is required).",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    exam = forms.ModelChoiceField(
        queryset=Exam.objects.all(),
        required=False,
        help_text="Optional: also enrol every imported student in this exam.",
    )


class PhotoUploadForm(forms.Form):
    files = MultipleFileField(
        label="Photos or zip archives",
        help_text="Each file name starts with the student number, e.g. S1234567.jpg or "
        "S1234567_2.png. Zip archives of such files are unpacked.",
    )
