"""Side-effect reports, clinician side: the prescriber reads the report and records a response."""

urlpatterns: list = []
