"""Each student gets their capture link by email, with the exam's time and what is recorded;
every email has a status row (pending, sent, failed with the reason) the admin shows."""

import email
import email.policy
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from invigilation.core.clock import format_datetime
from invigilation.core.embedded_redis import free_port
from invigilation.env import EnvError, env_email, env_url
from invigilation.invitations.models import Invitation
from invigilation.invitations.services import email_capture_links
from invigilation.invitations.tasks import send_capture_link

pytestmark = pytest.mark.django_db

SITE = "https://exams.example.edu"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = "exams@example.edu"


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """Invitation ids handed to Celery (recorded: the tests run the task themselves)."""
    ids: list[int] = []
    monkeypatch.setattr(send_capture_link, "delay", ids.append)
    return ids


@pytest.fixture
def ada(sessions):
    """S001 has an email address; S002 has none."""
    session = sessions["S001"]
    session.student.email = "ada@uni.edu"
    session.student.save()
    return session


@pytest.fixture
def emails_requested(exam, exam_admin, queued, django_capture_on_commit_callbacks):
    """Ask for the exam's emails (queued once the request commits), and send them."""

    def request() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            email_capture_links(exam=exam, requested_by=exam_admin)
        run_queued(queued)

    return request


def run_queued(queued: list[int]) -> None:
    while queued:
        send_capture_link(queued.pop(0))  # the task itself, in this process


def status_of(session) -> tuple[str, str]:
    invitation = Invitation.objects.get(session=session)
    return invitation.status, invitation.reason


def email_action(client, exam, django_capture_on_commit_callbacks):
    body = {"action": "email_capture_links", ACTION_CHECKBOX_NAME: [exam.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("admin:exams_exam_changelist"), body, follow=True)


def test_the_admin_action_emails_each_student_their_link_time_and_privacy_notice(
    client, exam_admin, exam, sessions, ada, queued, django_capture_on_commit_callbacks
):
    client.force_login(exam_admin)
    response = email_action(client, exam, django_capture_on_commit_callbacks)
    assert "CS101 Algorithms: 2 email(s) queued." in response.content.decode()
    assert {status_of(s) for s in sessions.values() if s.exam == exam} == {("pending", "")}
    run_queued(queued)
    [message] = mail.outbox
    assert message.to == ["ada@uni.edu"] and message.from_email == "exams@example.edu"
    link = f"{SITE}/capture/{ada.token}/"
    starts = format_datetime(exam.starts_at)
    assert message.subject == f"Your exam link: CS101 Algorithms, {starts}"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    for body in (message.body, html):
        assert link in body
        assert starts in body and format_datetime(exam.ends_at) in body
        assert "picture(s) per second" in body and "analysed and then discarded" in body
        assert "30 days after the exam" in body  # the exam's retention_days
        assert "enrolment photo" in body  # identity is checked in this exam
    assert f'href="{link}"' in html
    assert "Dear Ada Lovelace" in message.body
    sent = Invitation.objects.get(session=ada)
    assert (sent.status, sent.sent_to, sent.attempts) == ("sent", "ada@uni.edu", 1)
    assert sent.requested_by == exam_admin and sent.sent_at is not None
    assert status_of(sessions["S002"]) == ("failed", "no email address")


def test_statuses_show_in_the_admin_list_and_on_the_exam_page(
    client, exam_admin, exam, sessions, ada, queued, django_capture_on_commit_callbacks
):
    client.force_login(exam_admin)
    email_action(client, exam, django_capture_on_commit_callbacks)
    run_queued(queued)
    exam_page = client.get(reverse("admin:exams_exam_change", args=[exam.pk])).content.decode()
    assert "failed: no email address" in exam_page  # S002's row
    assert "1 sent, 1 failed" in exam_page
    changelist = reverse("admin:invitations_invitation_changelist")
    failed = client.get(changelist, {"status__exact": "failed"}).content.decode()
    assert "no email address" in failed and "S002" in failed and "S001" not in failed
    of_exam = client.get(changelist, {"session__exam__id__exact": exam.pk}).content.decode()
    assert "S001" in of_exam and "S002" in of_exam


def test_resending(
    client, exam_admin, exam, sessions, ada, queued, django_capture_on_commit_callbacks
):
    client.force_login(exam_admin)
    email_action(client, exam, django_capture_on_commit_callbacks)
    run_queued(queued)
    # The exam's action again: only the student not yet sent one (the one who failed).
    response = email_action(client, exam, django_capture_on_commit_callbacks)
    assert "1 email(s) queued; 1 already sent" in response.content.decode()
    assert queued == [Invitation.objects.get(session=sessions["S002"]).pk]
    run_queued(queued)
    assert len(mail.outbox) == 1
    # "Send the capture link again" on the list resends whatever its status.
    invitation = Invitation.objects.get(session=ada)
    body = {"action": "send_again", ACTION_CHECKBOX_NAME: [invitation.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:invitations_invitation_changelist"), body)
    assert queued == [invitation.pk] and status_of(ada) == ("pending", "")
    run_queued(queued)
    assert [m.to for m in mail.outbox] == [["ada@uni.edu"], ["ada@uni.edu"]]
    assert Invitation.objects.get(session=ada).attempts == 2


def test_a_task_delivered_twice_sends_one_email(exam, ada, exam_admin, queued):
    email_capture_links(exam=exam, requested_by=exam_admin)
    pk = Invitation.objects.get(session=ada).pk
    send_capture_link(pk)
    send_capture_link(pk)
    assert len(mail.outbox) == 1


def test_no_email_once_the_exam_has_ended(exam, ada, emails_requested):
    exam.starts_at = timezone.now() - timedelta(hours=3)
    exam.ends_at = timezone.now() - timedelta(hours=1)
    exam.save()
    emails_requested()
    assert not mail.outbox
    assert status_of(ada) == ("failed", "the exam has ended: its link no longer opens")


def test_only_exam_admins_see_the_emails(client, exam_admin, exam, ada, queued):
    email_capture_links(exam=exam, requested_by=exam_admin)
    changelist = reverse("admin:invitations_invitation_changelist")
    client.force_login(exam_admin)
    assert "S001" in client.get(changelist).content.decode()
    # Staff holding the model's view permission, but not exam admins: the links are not theirs.
    clerk = User.objects.create_user("clerk", password="pw-clerk-12345", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_invitation"))
    client.force_login(clerk)
    assert client.get(changelist).status_code == 403


# ---- through a real SMTP server on loopback --------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps what it is sent, or refuses every recipient."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings, monkeypatch):
    """Start a real SMTP server and point the settings at it through EMAIL_URL."""
    servers = []

    def start(refuse: bool = False) -> Mailbox:
        mailbox, port = Mailbox(refuse), free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        servers.append(controller)
        use_smtp(settings, monkeypatch, f"smtp://127.0.0.1:{port}?timeout=5")
        return mailbox

    yield start
    for controller in servers:
        controller.stop()


def use_smtp(settings, monkeypatch, url: str) -> None:
    monkeypatch.setenv("EMAIL_URL", url)
    parsed = env_email("EMAIL_URL")
    settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT = (
        parsed.backend, parsed.host, parsed.port
    )  # fmt: skip
    settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL = parsed.use_tls, parsed.use_ssl
    settings.EMAIL_TIMEOUT = parsed.timeout


def test_a_real_smtp_server_receives_the_email(ada, emails_requested, smtp_server):
    mailbox = smtp_server()
    emails_requested()
    [received] = mailbox.messages
    assert received["To"] == "ada@uni.edu" and received["From"] == "exams@example.edu"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert f"{SITE}/capture/{ada.token}/" in text and f"{SITE}/capture/{ada.token}/" in html
    assert status_of(ada) == ("sent", "")


def test_a_refused_address_is_failed_with_the_servers_reason(ada, emails_requested, smtp_server):
    mailbox = smtp_server(refuse=True)
    emails_requested()
    assert not mailbox.messages
    status, reason = status_of(ada)
    assert status == "failed"
    assert reason == "the mail server refused the address: 550 5.1.1 No such user here"


def test_an_unreachable_mail_server_is_failed_with_the_reason(
    ada, emails_requested, settings, monkeypatch
):
    use_smtp(settings, monkeypatch, f"smtp://127.0.0.1:{free_port()}?timeout=5")  # nobody there
    emails_requested()
    status, reason = status_of(ada)
    assert status == "failed" and reason.startswith("could not reach the mail server")


# ---- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("smtp://mail.uni.edu", ("mail.uni.edu", 25, "", "", False, False)),
        ("smtp://u%40uni.edu:p%2Fss@mail.uni.edu:587?tls=true",
         ("mail.uni.edu", 587, "u@uni.edu", "p/ss", True, False)),
        ("smtp://mail.uni.edu?tls=true", ("mail.uni.edu", 587, "", "", True, False)),
        ("smtps://user:secret@mail.uni.edu", ("mail.uni.edu", 465, "user", "secret", False, True)),
    ],
)  # fmt: skip
def test_email_url_sets_the_smtp_settings(monkeypatch, url, expected):
    monkeypatch.setenv("EMAIL_URL", url)
    parsed = env_email("EMAIL_URL")
    assert parsed.backend == "django.core.mail.backends.smtp.EmailBackend"
    assert (parsed.host, parsed.port, parsed.user, parsed.password, parsed.use_tls,
            parsed.use_ssl) == expected  # fmt: skip


def test_without_email_url_mail_goes_to_the_console(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)
    assert env_email("EMAIL_URL").backend == "django.core.mail.backends.console.EmailBackend"


@pytest.mark.parametrize(
    "url", ["http://mail.uni.edu", "smtp://", "smtp://h?tls=maybe", "smtps://h?tls=true",
            "smtp://h?colour=red", "smtp://h:99999", "smtp://u:hunter2@h?timeout=0"],
)  # fmt: skip
def test_bad_email_urls_are_refused_without_showing_the_password(monkeypatch, url):
    monkeypatch.setenv("EMAIL_URL", url)
    with pytest.raises(EnvError, match="EMAIL_URL") as refused:
        env_email("EMAIL_URL")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    "raw, expected",
    [("https://exams.uni.edu/", "https://exams.uni.edu"), (None, "http://127.0.0.1:8000")],
)
def test_site_url(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("SITE_URL", raising=False)
    else:
        monkeypatch.setenv("SITE_URL", raw)
    assert env_url("SITE_URL", "http://127.0.0.1:8000") == expected


@pytest.mark.parametrize("raw", ["exams.uni.edu", "ftp://exams.uni.edu", "https://uni.edu/exams"])
def test_bad_site_urls_are_refused(monkeypatch, raw):
    monkeypatch.setenv("SITE_URL", raw)
    with pytest.raises(EnvError, match="SITE_URL"):
        env_url("SITE_URL", "http://127.0.0.1:8000")
