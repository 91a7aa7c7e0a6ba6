from django.urls import include, path

from invigilation.kiosk import api

kiosk_api = [
    path("exams/<int:exam_id>/kiosk/bursts/", api.KioskBurstView.as_view(), name="bursts"),
    path("kiosk/attempts/<int:kiosk_attempt_id>/", api.KioskAttemptView.as_view(), name="attempt"),
    path("kiosk/attempts/<int:kiosk_attempt_id>/confirm/", api.KioskConfirmView.as_view(),
         name="confirm"),
    path("kiosk/attempts/<int:kiosk_attempt_id>/reject/", api.KioskRejectView.as_view(),
         name="reject"),
    path("kiosk/attempts/<int:kiosk_attempt_id>/override/", api.KioskOverrideView.as_view(),
         name="override"),
]  # fmt: skip

urlpatterns = [path("", include((kiosk_api, "kiosk-api")))]
