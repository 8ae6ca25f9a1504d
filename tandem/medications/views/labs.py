"""Labs and monitoring, clinician side."""

urlpatterns: list = []
