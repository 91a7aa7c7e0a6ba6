from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from invigilation.accounts.login import AdminLoginForm, LoginForm, answers_429_when_limited
from invigilation.core.views import healthz, not_found

admin.site.site_header = "Invigilation administration"
admin.site.site_title = "Invigilation admin"
admin.site.login_form = AdminLoginForm
handler404 = not_found

urlpatterns = [
    # Ahead of the admin's own login URL: the same view, answering 429 when rate-limited.
    path("admin/login/", answers_429_when_limited(admin.site.login)),
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        answers_429_when_limited(auth_views.LoginView.as_view(authentication_form=LoginForm)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("invigilation.api_urls")),
    path("healthz", healthz, name="healthz"),
    path("", include("invigilation.students.urls")),
    path("", include("invigilation.proctoring.urls")),
    path("", include("invigilation.kiosk.urls")),
    path("", include("invigilation.rooms.urls")),
    path("", include("invigilation.reports.urls")),
    path("", include("invigilation.dashboard.urls")),
]
