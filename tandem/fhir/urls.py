from django.urls import path

from tandem.fhir import views

app_name = "fhir"

urlpatterns = [
    path("", views.system_root, name="root"),
    path("metadata", views.metadata, name="metadata"),
    # Bulk Data: before the generic routes, which would take Patient/$export for a read.
    path("$export", views.export_system, name="export"),
    path("Patient/$export", views.export_patients, name="export_patient"),
    path("Group/<str:group_id>/$export", views.export_group, name="export_group"),
    path("$export-status/<uuid:job_id>", views.export_status, name="export_status"),
    path("$export-files/<uuid:job_id>/<str:file_name>", views.export_file, name="export_file"),
    path("<str:resource_type>", views.type_root, name="type"),
    path("<str:resource_type>/_search", views.type_search, name="search"),
    path("<str:resource_type>/<str:resource_id>", views.instance, name="read"),
]
