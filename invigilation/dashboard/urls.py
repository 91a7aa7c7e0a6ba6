from django.urls import path

from invigilation.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("exams/<int:exam_id>/", views.exam_detail, name="exam"),
    path(
        "exams/<int:exam_id>/sessions/<int:session_id>/latest-frame.jpg",
        views.latest_frame,
        name="latest-frame",
    ),
    path(
        "exams/<int:exam_id>/sessions/<int:session_id>/reference/",
        views.reference_decision,
        name="reference-decision",
    ),
    path(
        "exams/<int:exam_id>/check-ins/<int:attempt_id>/snapshot.jpg",
        views.check_in_snapshot,
        name="check-in-snapshot",
    ),
    path("exams/<int:exam_id>/room/", views.room_page, name="room"),
    path("exams/<int:exam_id>/room.json", views.room_json, name="room-json"),
]
