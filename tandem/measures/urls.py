"""/patients/<patient_id>/measures/…: responses and administration in session."""

from django.urls import path

from tandem.measures import views

app_name = "measures"
urlpatterns = [
    path("<int:patient_id>/measures/", views.responses, name="responses"),
    path("<int:patient_id>/measures/responses/<int:response_id>/", views.response_detail, name="response"),
    path("<int:patient_id>/measures/administer/<slug:instrument>/", views.administer, name="administer"),
]
