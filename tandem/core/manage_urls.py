from django.urls import path

from tandem.core import manage_views as views

app_name = "manage"
urlpatterns = [
    path("members/", views.members, name="members"),
    path("members/new/", views.member_new, name="member_new"),
    path("members/<int:user_id>/deactivate/", views.member_deactivate, name="member_deactivate"),
    path("patients/", views.patients, name="patients"),
    path("patients/new/", views.patient_new, name="patient_new"),
]
