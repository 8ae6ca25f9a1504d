"""/portal/help-now/: crisis resources and the patient's safety plan."""

from django.urls import path

from tandem.safety import portal_views

app_name = "portal_safety"
urlpatterns = [
    path("help-now/", portal_views.now, name="now"),
]
