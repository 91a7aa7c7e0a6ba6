from django.urls import path

from invigilation.proctoring import views

app_name = "proctoring"
urlpatterns = [
    path("capture/<str:token>/", views.capture, name="capture"),
    path("capture/<str:token>/system-check/", views.system_check, name="system-check"),
]
