"""/portal/appointments/…: the patient's own sessions."""

from django.urls import path

from tandem.therapy import portal_views

app_name = "portal_therapy"
urlpatterns = [
    path("appointments/", portal_views.sessions, name="sessions"),
    path("appointments/<int:session_id>/cancel/", portal_views.cancel, name="cancel"),
]
