from django.urls import path

from invigilation.rooms import views

app_name = "rooms"
urlpatterns = [
    path("camera/<str:token>/", views.camera_page, name="camera"),
    path(
        "exams/<int:exam_id>/cameras/<int:camera_id>/room-view.jpg",
        views.room_view,
        name="room-view",
    ),
    path(
        "exams/<int:exam_id>/cameras/<int:camera_id>/room-view.json",
        views.room_view,
        {"readings_only": True},
        name="room-view-readings",
    ),
]
