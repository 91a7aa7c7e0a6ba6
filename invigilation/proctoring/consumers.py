from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from invigilation.exams.selectors import can_watch_exam
from invigilation.proctoring.groups import exam_group


class ExamAlertsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes an exam's flags, reviews, student statuses, check-ins, reference-photo decisions
    and finishes to a staff user allowed to watch that exam."""

    async def connect(self) -> None:
        exam_id = self.scope["url_route"]["kwargs"]["exam_id"]
        if not await self._may_watch(exam_id):
            await self.close(code=4403)
            return
        self.group = exam_group(exam_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def flag_raised(self, event: dict) -> None:
        await self.send_json({"type": "flag", "flag": event["flag"]})

    async def flag_reviewed(self, event: dict) -> None:
        await self.send_json({"type": "flag_reviewed", "flag": event["flag"]})

    async def session_status(self, event: dict) -> None:
        await self.send_json({"type": "status", "status": event["status"]})

    async def session_checked_in(self, event: dict) -> None:
        await self.send_json({"type": "check_in", "check_in": event["check_in"]})

    async def session_reference(self, event: dict) -> None:
        await self.send_json({"type": "reference", "reference": event["reference"]})

    async def session_finished(self, event: dict) -> None:
        await self.send_json({"type": "finished", "session": event["session"]})

    @database_sync_to_async
    def _may_watch(self, exam_id: int) -> bool:
        return can_watch_exam(user=self.scope["user"], exam_id=exam_id)
