"""Writes for getting capture links to students: queueing and sending their emails."""

import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from invigilation.core.clock import format_datetime
from invigilation.exams.models import Exam, ExamSession
from invigilation.invitations.models import Invitation
from invigilation.invitations.selectors import capture_url
from invigilation.invitations.tasks import send_capture_link

Status = Invitation.Status


def email_capture_links(*, exam: Exam, requested_by: AbstractBaseUser) -> tuple[int, int]:
    """Queue an email to every student of the exam not yet sent one (failed ones again).
    Returns (queued, already sent or being sent)."""
    sessions = exam.sessions.all()
    due = sessions.exclude(invitation__status__in=[Status.SENT, Status.SENDING])
    queued = _queue(session_ids=due.values_list("pk", flat=True), requested_by=requested_by)
    return queued, sessions.count() - queued


def resend_capture_links(
    *, invitations: QuerySet[Invitation], requested_by: AbstractBaseUser
) -> int:
    """Queue the emails again, whatever became of them before."""
    session_ids = invitations.values_list("session_id", flat=True)
    return _queue(session_ids=session_ids, requested_by=requested_by)


def _queue(*, session_ids: Iterable[int], requested_by: AbstractBaseUser) -> int:
    session_ids = list(session_ids)
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.bulk_create(
            [Invitation(session_id=pk, requested_at=now) for pk in session_ids],
            ignore_conflicts=True,  # those already asked for are updated below
        )
        rows = Invitation.objects.filter(session_id__in=session_ids)
        rows.update(status=Status.PENDING, reason="", requested_at=now, requested_by=requested_by)
        ids = list(rows.values_list("pk", flat=True))
        # After the commit, so the worker finds the rows pending.
        transaction.on_commit(lambda: _enqueue(ids))
    return len(ids)


def _enqueue(invitation_ids: list[int]) -> None:
    for pk in invitation_ids:
        send_capture_link.delay(pk)


def send_capture_link_email(*, invitation_id: int) -> Invitation | None:
    """Email the student their link, once per request; None when there is nothing to send
    (already claimed by another task, or the student was erased)."""
    # Claimed by a short update rather than a lock held while the mail server answers.
    claimed = Invitation.objects.filter(pk=invitation_id, status=Status.PENDING).update(
        status=Status.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    invitation = (
        Invitation.objects.select_related("session__exam", "session__student")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:  # the student was erased meanwhile
        return None
    student = invitation.session.student
    if reason := _send(invitation.session):
        outcome = {"status": Status.FAILED, "reason": reason[:255]}
    else:
        outcome = {"status": Status.SENT, "reason": "", "sent_at": timezone.now(),
                   "sent_to": student.email}  # fmt: skip
    # A resend asked for meanwhile (back to pending) keeps its own, later result.
    Invitation.objects.filter(pk=invitation_id, status=Status.SENDING).update(**outcome)
    invitation.refresh_from_db()
    return invitation


def _send(session: ExamSession) -> str:
    """Send the email; the reason it could not be sent, or "" once the server took it."""
    if not session.student.email:
        return "no email address"
    if session.exam.ends_at <= timezone.now():
        return "the exam has ended: its link no longer opens"
    try:
        capture_link_email(session=session).send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = "; ".join(_smtp_reply(*reply) for reply in exc.recipients.values())
        return f"the mail server refused the address: {codes}"
    except smtplib.SMTPResponseException as exc:
        return f"the mail server refused the email: {_smtp_reply(exc.smtp_code, exc.smtp_error)}"
    except (smtplib.SMTPException, OSError) as exc:  # refused connection, TLS, time-out
        return f"could not reach the mail server: {exc or type(exc).__name__}"
    except ValueError as exc:  # an address Django cannot put in a header
        return f"the email address cannot be used: {exc}"
    return ""


def _smtp_reply(code: int, message: bytes | str) -> str:
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    return f"{code} {text}"


def capture_link_email(*, session: ExamSession) -> EmailMultiAlternatives:
    """The student's link with the exam's time and what is recorded, as text and HTML."""
    exam, student = session.exam, session.student
    context = {
        "student": student,
        "exam": exam,
        "link": capture_url(session=session),
        "starts": format_datetime(exam.starts_at),
        "ends": format_datetime(exam.ends_at),
        "opens": format_datetime(exam.starts_at - settings.CHECK_IN_OPENS_BEFORE),
        "time_zone": settings.TIME_ZONE,
        "retained_until": format_datetime(exam.retained_until),
        "expression_enabled": settings.EXPRESSION_ANALYSIS_ENABLED,
    }
    subject = " ".join(f"Your exam link: {exam.course} {exam.title}, {context['starts']}".split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("invitations/capture_link_email.txt", context),
        to=[student.email],
    )
    message.attach_alternative(
        render_to_string("invitations/capture_link_email.html", context), "text/html"
    )
    return message
