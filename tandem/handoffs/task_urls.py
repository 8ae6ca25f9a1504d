"""/tasks/: the signed-in clinician's hand-off tasks across patients."""

from tandem.handoffs.views import tasks

app_name = "handoff_tasks"
urlpatterns = tasks.urlpatterns
