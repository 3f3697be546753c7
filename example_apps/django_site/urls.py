from django.contrib import admin
from django.urls import path

from example_apps.django_site import views

urlpatterns = [
    path("", views.home, name="home"),
    path("notes/add", views.add_note, name="add_note"),
    path("notes/clear", views.clear_notes, name="clear_notes"),
    path("signup", views.signup, name="signup"),
    path("login", views.log_in, name="login"),
    path("logout", views.log_out, name="logout"),
    path("sessions", views.sessions, name="sessions"),
    path("sessions/revoke", views.revoke, name="revoke"),
    path("sessions/revoke-others", views.revoke_others, name="revoke_others"),
    path("admin/", admin.site.urls),
]
