from django.urls import path

from invigilation.rooms.api import CameraFrameIngestView

urlpatterns = [
    path("cameras/frames/", CameraFrameIngestView.as_view(), name="camera-frame-ingest"),
]
