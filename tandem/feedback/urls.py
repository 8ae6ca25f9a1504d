"""/patients/<patient_id>/therapy/…: visit feedback and check-ins, clinician side."""

from django.urls import path

from tandem.feedback import views

app_name = "feedback"
urlpatterns = [
    path("<int:patient_id>/therapy/feedback/", views.feedback_list, name="list"),
    path("<int:patient_id>/therapy/checkins/", views.checkins, name="checkins"),
]
