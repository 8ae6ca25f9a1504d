"""/patients/<patient_id>/handoffs/… and /patients/<patient_id>/messages/…: clinician side."""

from tandem.handoffs.views import handoffs, threads

app_name = "handoffs"
urlpatterns = [*handoffs.urlpatterns, *threads.urlpatterns]
