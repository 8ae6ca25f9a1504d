from django.urls import path

from tandem.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("access-log/", views.access_log, name="access_log"),
    path("crisis/", views.crisis, name="crisis"),
    path("sharing/", views.sharing, name="sharing"),
    path("sharing/<int:consent_id>/revoke/", views.consent_revoke, name="consent_revoke"),
]
