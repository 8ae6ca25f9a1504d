"""/patients/<patient_id>/measures/…: responses, administration in session, trends."""

from django.urls import path

from tandem.measures import trend_views, views

app_name = "measures"
urlpatterns = [
    path("<int:patient_id>/measures/", views.responses, name="responses"),
    path("<int:patient_id>/measures/responses/<int:response_id>/", views.response_detail, name="response"),
    path("<int:patient_id>/measures/administer/<slug:instrument>/", views.administer, name="administer"),
    path("<int:patient_id>/measures/<slug:instrument>/trend/", trend_views.trend, name="trend"),
    path("<int:patient_id>/measures/<slug:instrument>/trend/pdf/", trend_views.trend_pdf, name="trend_pdf"),
]
