"""/manage/education/…: the organisation's patient-education texts (org admins)."""

from tandem.plans.views.education import urlpatterns  # noqa: F401

app_name = "education"
