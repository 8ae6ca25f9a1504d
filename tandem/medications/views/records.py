"""Fills (refills) and refill-based adherence (PDC), clinician side."""

urlpatterns: list = []
