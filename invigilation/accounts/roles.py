"""The staff roles as Django groups, and the permissions each one carries."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

ADMIN_GROUP = "Exam admins"
INVIGILATOR_GROUP = "Invigilators"

ROLE_PERMISSIONS = {
    ADMIN_GROUP: [
        f"{app}.{action}_{model}"
        for app, model in [
            ("students", "student"),
            ("students", "enrolmentphoto"),
            ("exams", "exam"),
            ("exams", "invigilatorassignment"),
            ("exams", "examsession"),
            ("exams", "attendance"),
            ("proctoring", "flag"),
            ("rooms", "camera"),
        ]
        for action in ("add", "change", "delete", "view")
    ]
    + ["exams.view_all_exams", "audit.view_accessevent"],
    # Invigilators see only the exams they are assigned to (see the selectors); they
    # review flags but change nothing else.
    INVIGILATOR_GROUP: [
        "exams.view_exam",
        "exams.view_examsession",
        "exams.view_attendance",
        "students.view_student",
        "students.view_enrolmentphoto",
        "proctoring.view_flag",
        "proctoring.change_flag",
    ],
}


def ensure_role_groups() -> None:
    """Create or refresh the role groups; safe to run after every migrate."""
    for group_name, perm_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        perms = [_permission(name) for name in perm_names]
        group.permissions.set([perm for perm in perms if perm is not None])


def _permission(dotted: str) -> Permission | None:
    app_label, codename = dotted.split(".")
    return Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()


def is_exam_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm("exams.view_all_exams")


def is_invigilator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_authenticated and user.has_perm("exams.view_exam")
