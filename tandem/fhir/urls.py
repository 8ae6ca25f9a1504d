from django.urls import path

from tandem.fhir import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("<str:resource_type>", views.type_root, name="type"),
    path("<str:resource_type>/_search", views.type_search, name="search"),
    path("<str:resource_type>/<str:resource_id>", views.instance, name="read"),
]
