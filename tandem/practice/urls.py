"""/patients/<patient_id>/therapy/practice/…: skills practice, clinician side."""

from django.urls import path

from tandem.practice import views

app_name = "practice"
urlpatterns = [
    path("<int:patient_id>/therapy/practice/", views.practice_list, name="list"),
    path("<int:patient_id>/therapy/practice/assign/", views.assign, name="assign"),
    path(
        "<int:patient_id>/therapy/practice/<int:assignment_id>/", views.assignment_detail, name="assignment"
    ),
    path("<int:patient_id>/therapy/practice/<int:assignment_id>/end/", views.end, name="end"),
    path("<int:patient_id>/therapy/practice/<int:assignment_id>/week/", views.week, name="diary_week"),
    path(
        "<int:patient_id>/therapy/practice/<int:assignment_id>/week.pdf",
        views.week_pdf,
        name="diary_week_pdf",
    ),
    path("<int:patient_id>/therapy/practice/entries/<int:entry_id>/", views.entry_detail, name="entry"),
]
