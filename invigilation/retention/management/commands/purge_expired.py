from django.core.management.base import BaseCommand
from django.utils import timezone

from invigilation.retention.services import (
    describe,
    expired_access_events,
    expired_exams,
    purge_expired_data,
)


class Command(BaseCommand):
    help = (
        "Delete frames, flags, snapshots and photos past their exams' retention periods, "
        "and audit-log events older than AUDIT_RETENTION_DAYS."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="only list the exams")

    def handle(self, *args, dry_run: bool, **options) -> None:
        now = timezone.now()
        if dry_run:
            exams = expired_exams(now=now)
            self.stdout.write(f"{len(exams)} exam(s) past retention:")
            for exam in exams:
                self.stdout.write(f"  {exam} (retained until {exam.retained_until:%Y-%m-%d})")
            events = expired_access_events(now=now).count()
            self.stdout.write(f"{events} audit-log event(s) past retention")
            return
        for line in describe(purge_expired_data(now=now)):
            self.stdout.write(line)
