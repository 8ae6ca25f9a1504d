from django.urls import path

from tandem.registry import review_views, views

app_name = "registry"

urlpatterns = [
    path("", views.caseload_page, name="caseload"),
    path("caseload.csv", views.caseload_csv, name="caseload_csv"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("organisation/", views.org_dashboard, name="org_dashboard"),
    path("review/", review_views.review_page, name="review"),
    path("patients/<int:patient_id>/review/", review_views.patient_review, name="patient_review"),
    path("patients/<int:patient_id>/review/request/", review_views.request_review, name="request_review"),
    path("patients/<int:patient_id>/review/recommend/", review_views.recommend, name="recommend"),
]
