"""/portal/practice/…: the patient's skills practice."""

from django.urls import path

from tandem.practice import portal_views

app_name = "portal_practice"
urlpatterns = [
    path("practice/", portal_views.practice_list, name="list"),
    path("practice/<int:assignment_id>/", portal_views.fill, name="fill"),
    path("practice/<int:assignment_id>/draft/", portal_views.save_draft, name="draft"),
    path("practice/entries/<int:entry_id>/", portal_views.entry_detail, name="entry"),
]
