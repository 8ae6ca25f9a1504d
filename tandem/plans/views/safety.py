"""Safety and relapse-prevention plans, clinician side."""

urlpatterns: list = []
