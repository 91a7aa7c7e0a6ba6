from django.urls import path

from invigilation.proctoring.consumers import ExamAlertsConsumer

websocket_urlpatterns = [
    path("ws/exams/<int:exam_id>/alerts/", ExamAlertsConsumer.as_asgi()),
]
