"""/portal/…: the patient's visit feedback and daily check-in."""

from __future__ import annotations

from django.urls import path

from tandem.feedback import portal_views

app_name = "portal_feedback"
urlpatterns = [
    path("feedback/", portal_views.visits, name="visits"),
    path("feedback/<int:session_id>/", portal_views.visit, name="visit"),
    path("feedback/<int:session_id>/skip/", portal_views.skip, name="skip"),
    path("checkin/", portal_views.checkin, name="checkin"),
]
