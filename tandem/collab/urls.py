from django.urls import path

from tandem.collab import views

app_name = "collab"
urlpatterns = [
    path("alerts/", views.inbox, name="inbox"),
    path("patients/<int:patient_id>/alerts/", views.patient_alerts, name="patient_alerts"),
    path(
        "patients/<int:patient_id>/alerts/<int:alert_id>/acknowledge/", views.acknowledge, name="acknowledge"
    ),
    path("patients/<int:patient_id>/alerts/<int:alert_id>/resolve/", views.resolve, name="resolve"),
]
