from django.urls import path

from tandem.collab import settings_views, views

app_name = "collab"
urlpatterns = [
    path("alerts/", views.inbox, name="inbox"),
    path("alerts/digest/", settings_views.digest_settings, name="digest_settings"),
    path("alerts/routing/", settings_views.routing_list, name="routing"),
    path("alerts/routing/<slug:kind>/", settings_views.routing_edit, name="routing_edit"),
    path("alerts/routing/<slug:kind>/reset/", settings_views.routing_reset, name="routing_reset"),
    path("patients/<int:patient_id>/alerts/", views.patient_alerts, name="patient_alerts"),
    path(
        "patients/<int:patient_id>/alerts/<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"
    ),
    path("patients/<int:patient_id>/alerts/<int:alert_id>/resolve/", views.resolve, name="resolve"),
]
