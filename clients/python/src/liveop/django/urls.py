"""``path("operations/", include("liveop.django.urls"))``: each operation's page, and the list's feed."""

from django.urls import path

from . import views

app_name = "liveop"

urlpatterns = [
    path("sessions", views.sessions, name="sessions"),
    path("<str:session_id>/", views.operation, name="operation"),
]
