"""Fills and labs, clinician side."""

urlpatterns: list = []
