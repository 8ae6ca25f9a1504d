"""/patients/<patient_id>/care-time/…, and /patients/care-time/… across patients."""

from django.urls import path

from tandem.caretime import org_views, views

app_name = "caretime"
urlpatterns = [
    path("care-time/", org_views.org_report, name="org_report"),
    path("care-time/export.csv", org_views.org_report_csv, name="org_report_csv"),
    path("care-time/mine/", org_views.my_report, name="my_report"),
    path("care-time/mine/export.csv", org_views.my_report_csv, name="my_report_csv"),
    path("<int:patient_id>/care-time/", views.month, name="month"),
    path("<int:patient_id>/care-time/export.csv", views.month_csv, name="month_csv"),
    path("<int:patient_id>/care-time/log/", views.log, name="log"),
    path("<int:patient_id>/care-time/<int:entry_id>/edit/", views.edit, name="edit"),
    path("<int:patient_id>/care-time/<int:entry_id>/delete/", views.delete, name="delete"),
]
