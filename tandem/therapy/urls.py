"""/patients/<patient_id>/therapy/…: clinician side of sessions and attendance."""

from django.urls import path

from tandem.therapy import views

app_name = "therapy"
urlpatterns = [
    path("<int:patient_id>/therapy/", views.overview, name="overview"),
    path("<int:patient_id>/therapy/schedule/", views.schedule, name="schedule"),
    path("<int:patient_id>/therapy/sessions/<int:session_id>/", views.session_detail, name="session"),
    path("<int:patient_id>/therapy/sessions/<int:session_id>/status/", views.set_status, name="status"),
    path("<int:patient_id>/therapy/sessions/<int:session_id>/move/", views.move, name="move"),
    path(
        "<int:patient_id>/therapy/series/<int:series_id>/cancel/",
        views.cancel_series,
        name="cancel_series",
    ),
]
