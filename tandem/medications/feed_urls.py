"""/feeds/…: calendar feeds reached by a secret token, without signing in (mounted at "feeds/")."""

from django.urls import path

from tandem.medications import feed_views

app_name = "feeds"
urlpatterns = [
    path("doses/<str:token>.ics", feed_views.dose_feed, name="doses"),
]
