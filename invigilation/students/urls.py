from django.urls import path

from invigilation.students import views

app_name = "students"
urlpatterns = [
    path("photos/<int:photo_id>/", views.photo_file, name="photo"),
]
