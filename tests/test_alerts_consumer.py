import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from invigilation.proctoring.services import push_event, push_flag, raise_flag, review_flag
from invigilation.routing import websocket_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest_asyncio.fixture(autouse=True)
async def _close_thread_connections():
    yield
    # The consumer's database calls run in a worker thread whose connection would otherwise
    # stay open and block dropping the test database.
    await database_sync_to_async(connections.close_all)()


async def connect(user, exam_id: int) -> tuple[WebsocketCommunicator, bool]:
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/exams/{exam_id}/alerts/"
    )
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_invigilator_receives_a_flag_of_their_exam_through_redis(invigilator, sessions):
    session = sessions["S001"]
    communicator, connected = await connect(invigilator, session.exam_id)
    assert connected
    flag = await sync_to_async(raise_flag)(session=session, kind="multiple_faces", message="2")
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "flag"
    assert message["flag"]["id"] == flag.pk
    assert message["flag"]["student_number"] == "S001"
    assert message["flag"]["kind_label"] == "More than one face"
    await communicator.disconnect()


async def test_other_exams_flags_do_not_reach_an_invigilator(invigilator, sessions):
    communicator, _ = await connect(invigilator, sessions["S001"].exam_id)
    flag = await sync_to_async(raise_flag)(session=sessions["S003"], kind="no_face")
    await sync_to_async(push_flag)(flag=flag)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_invigilator_cannot_join_another_exams_group(other_invigilator, exam):
    communicator, connected = await connect(other_invigilator, exam.pk)
    assert not connected


async def test_anonymous_users_cannot_connect(exam):
    communicator, connected = await connect(AnonymousUser(), exam.pk)
    assert not connected


async def test_reviews_and_student_status_reach_the_exams_dashboards(invigilator, sessions):
    session = sessions["S001"]
    communicator, _ = await connect(invigilator, session.exam_id)
    status = {"session": session.pk, "face_count": 2, "at": "2026-01-01T00:00:00+00:00"}
    await sync_to_async(push_event)(
        exam_id=session.exam_id, event={"type": "session.status", "status": status}
    )
    assert await communicator.receive_json_from(timeout=5) == {"type": "status", "status": status}
    flag = await sync_to_async(raise_flag)(session=session, kind="no_face")
    await communicator.receive_json_from(timeout=5)  # the flag itself
    await sync_to_async(review_flag)(
        flag=flag, reviewer=invigilator, state="dismissed", note="camera glitch"
    )
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "flag_reviewed"
    assert (message["flag"]["id"], message["flag"]["review_state"]) == (flag.pk, "dismissed")
    await communicator.disconnect()


async def test_check_ins_and_finishes_reach_the_exams_dashboards(invigilator, sessions):
    session = sessions["S001"]
    communicator, _ = await connect(invigilator, session.exam_id)
    check_in = {"session": session.pk, "checked_in_at": "2026-01-01T09:58:00+00:00",
                "verified": False, "distance": 0.81, "has_reference": True}  # fmt: skip
    await sync_to_async(push_event)(
        exam_id=session.exam_id, event={"type": "session.checked_in", "check_in": check_in}
    )
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "check_in",
        "check_in": check_in,
    }
    finished = {"session": session.pk, "finished_at": "2026-01-01T11:30:00+00:00"}
    await sync_to_async(push_event)(
        exam_id=session.exam_id, event={"type": "session.finished", "session": finished}
    )
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "finished",
        "session": finished,
    }
    # Another exam's check-in stays with that exam.
    other = sessions["S003"]
    await sync_to_async(push_event)(exam_id=other.exam_id, event={
        "type": "session.checked_in", "check_in": {**check_in, "session": other.pk},
    })  # fmt: skip
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_reference_photo_decisions_reach_the_exams_dashboards(invigilator, sessions):
    from invigilation.proctoring.services import push_reference

    session = sessions["S001"]
    communicator, connected = await connect(invigilator, session.exam_id)
    assert connected
    await sync_to_async(push_reference)(session=session, photo_url=None, unconfirmed=False)
    message = await communicator.receive_json_from(timeout=5)
    assert message == {
        "type": "reference",
        "reference": {"session": session.pk, "photo_url": None, "unconfirmed": False},
    }
