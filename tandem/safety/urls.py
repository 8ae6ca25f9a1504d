"""/patients/<patient_id>/safety-workflow/…: the safety flag and risk assessments."""

from django.urls import path

from tandem.safety import views

app_name = "safety"
urlpatterns = [
    path("<int:patient_id>/safety-workflow/", views.overview, name="overview"),
    path("<int:patient_id>/safety-workflow/assess/", views.assess, name="assess"),
]
