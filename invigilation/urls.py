from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from invigilation.core.views import healthz

admin.site.site_header = "Invigilation administration"
admin.site.site_title = "Invigilation admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("invigilation.api_urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("invigilation.students.urls")),
    path("", include("invigilation.proctoring.urls")),
    path("", include("invigilation.reports.urls")),
    path("", include("invigilation.dashboard.urls")),
]
