"""The admin's exam form shows each alert threshold as a named number field, stores only the
overridden ones, and refuses values the rules cannot use."""

from dataclasses import fields
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from invigilation.decisions.rules import RuleSettings
from invigilation.exams.models import Exam

pytestmark = pytest.mark.django_db

THRESHOLDS = {
    f.name: f.default
    for f in fields(RuleSettings)
    if isinstance(f.default, int | float) and not isinstance(f.default, bool)
}


def exam_form(**overrides) -> dict:
    start = timezone.localtime() + timedelta(days=1)
    end = start + timedelta(hours=2)
    form = {
        "title": "Compilers", "course": "CS330",
        "starts_at_0": start.strftime("%Y-%m-%d"), "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"), "ends_at_1": end.strftime("%H:%M:%S"),
        "mode": "online", "room": "", "sampling_fps": "1.0", "retention_days": "30",
        "check_identity": "on", "check_presence": "on",
        "assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0",
        "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0",
        "cameras-TOTAL_FORMS": "0", "cameras-INITIAL_FORMS": "0",
        **dict.fromkeys(THRESHOLDS, ""),
    }  # fmt: skip
    return {**form, **overrides}


def test_the_form_has_a_labelled_number_field_per_threshold(client, exam_admin):
    assert len(THRESHOLDS) >= 10
    client.force_login(exam_admin)
    response = client.get(reverse("admin:exams_exam_add"))
    form = response.context["adminform"].form
    page = response.content.decode()
    assert "Alert thresholds" in page
    for name, default in THRESHOLDS.items():
        assert f'name="{name}"' in page and 'type="number"' in page
        field = form.fields[name]
        assert field.label and "_" not in field.label
        assert f"Default {default:g}" in field.help_text
    assert form.fields["no_face_seconds"].label == "No face (seconds)"
    assert "Unit: seconds" in form.fields["no_face_seconds"].help_text
    assert 'name="rule_thresholds"' not in page  # no raw JSON any more


def test_saving_stores_only_the_overridden_thresholds(client, exam_admin):
    client.force_login(exam_admin)
    form = exam_form(no_face_seconds="15", mismatch_checks="5", expression_threshold="0.75")
    response = client.post(reverse("admin:exams_exam_add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    exam = Exam.objects.get(title="Compilers")
    assert exam.rule_thresholds == {
        "no_face_seconds": 15.0, "mismatch_checks": 5, "expression_threshold": 0.75
    }  # fmt: skip
    rules = RuleSettings(**exam.rule_thresholds)
    assert (rules.no_face_seconds, rules.yaw_limit) == (15.0, THRESHOLDS["yaw_limit"])


@pytest.mark.parametrize(
    "name, value",
    [("no_face_seconds", "0"), ("no_face_seconds", "-3"), ("no_face_seconds", "soon"),
     ("mismatch_checks", "0"), ("mismatch_checks", "2.5"), ("yaw_limit", "inf"),
     ("expression_threshold", "-0.1")],
)  # fmt: skip
def test_bad_values_get_a_field_error_and_nothing_is_saved(client, exam_admin, name, value):
    client.force_login(exam_admin)
    response = client.post(reverse("admin:exams_exam_add"), exam_form(**{name: value}))
    assert response.status_code == 200
    assert name in response.context["adminform"].form.errors
    assert f"field-{name}" in response.content.decode()
    assert not Exam.objects.filter(title="Compilers").exists()


def test_the_change_page_shows_overrides_and_a_blank_field_goes_back_to_the_default(
    client, exam_admin, make_exam
):
    exam = make_exam("Compilers", course="CS330",
                     rule_thresholds={"no_face_seconds": 15, "yaw_limit": 50})  # fmt: skip
    client.force_login(exam_admin)
    url = reverse("admin:exams_exam_change", args=[exam.pk])
    form = client.get(url).context["adminform"].form
    assert form["no_face_seconds"].value() == 15 and form["yaw_limit"].value() == 50
    assert form["mismatch_checks"].value() is None  # the default shows as a placeholder
    response = client.post(url, exam_form(yaw_limit="50", no_face_seconds=""))
    assert response.status_code == 302, response.context["adminform"].form.errors
    exam.refresh_from_db()
    assert exam.rule_thresholds == {"yaw_limit": 50.0}
    assert RuleSettings(**exam.rule_thresholds).no_face_seconds == THRESHOLDS["no_face_seconds"]
