"""/patients/<patient_id>/medications/…: clinician side of medications."""

from django.urls import path

from tandem.medications.views import labs, records, regimens, side_effects

app_name = "medications"
urlpatterns = [
    path("<int:patient_id>/medications/", regimens.medications, name="list"),
    path("<int:patient_id>/medications/new/", regimens.start, name="start"),
    path("<int:patient_id>/medications/<int:regimen_id>/", regimens.detail, name="detail"),
    path("<int:patient_id>/medications/<int:regimen_id>/change/", regimens.change, name="change"),
    *side_effects.urlpatterns,
    *records.urlpatterns,
    *labs.urlpatterns,
]
