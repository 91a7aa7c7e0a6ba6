from django.urls import path

from invigilation.kiosk import views

app_name = "kiosk"
urlpatterns = [path("exams/<int:exam_id>/kiosk/", views.kiosk_page, name="kiosk")]
