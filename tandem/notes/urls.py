"""/patients/<patient_id>/therapy/notes/…: progress notes; …/therapy/private-notes/…: the
author's psychotherapy notes."""

from __future__ import annotations

from tandem.notes.views import private, progress

app_name = "notes"
urlpatterns = [*progress.urlpatterns, *private.urlpatterns]
