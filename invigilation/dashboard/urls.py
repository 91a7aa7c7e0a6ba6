from django.urls import path

from invigilation.dashboard import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
    path("exams/<int:exam_id>/", views.exam_detail, name="exam"),
]
