from django.urls import path

from tandem.patients import timeline_views, views

app_name = "patients"
urlpatterns = [
    path("", views.my_patients, name="list"),
    path("break-glass/", views.break_glass, name="break_glass"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/team/add/", views.team_add, name="team_add"),
    path("<int:patient_id>/team/<int:member_id>/end/", views.team_end, name="team_end"),
    path("<int:patient_id>/consents/new/", views.consent_new, name="consent_new"),
    path("<int:patient_id>/consents/<int:consent_id>/revoke/", views.consent_revoke, name="consent_revoke"),
    path("<int:patient_id>/portal-invite/", views.portal_invite, name="portal_invite"),
    path("<int:patient_id>/timeline/", timeline_views.patient_timeline, name="timeline"),
    path("<int:patient_id>/<slug:tab>/", views.patient_tab, name="tab"),
]
