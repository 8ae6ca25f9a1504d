"""/portal/measures/…: the patient's due questionnaires and their trends."""

from django.urls import path

from tandem.measures import portal_views, trend_views

app_name = "portal_measures"
urlpatterns = [
    path("measures/", portal_views.due, name="due"),
    path("measures/reminders/", portal_views.reminder_emails, name="reminder_emails"),
    path("measures/<slug:instrument>/", portal_views.answer, name="answer"),
    path("measures/done/<int:response_id>/", portal_views.done, name="done"),
    path("measures/<slug:instrument>/trend/", trend_views.portal_trend, name="trend"),
]
