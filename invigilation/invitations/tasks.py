from celery import shared_task


# One task per student: a slow or refused address holds up nobody else, the sends spread
# over the workers, and a worker lost mid-batch loses at most one email (still "sending",
# to be sent again from the admin). The status row makes a repeated delivery harmless.
@shared_task(ignore_result=True)
def send_capture_link(invitation_id: int) -> None:
    # Imported here: the services queue this task.
    from invigilation.invitations.services import send_capture_link_email

    send_capture_link_email(invitation_id=invitation_id)
