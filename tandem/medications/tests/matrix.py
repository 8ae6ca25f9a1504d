"""Medication URLs of the JSON API in the access matrix (tests/test_access_matrix.py).

Today's doses and the side-effect list are the signed-in patient's own, like portal pages: each
patient gets their own, everybody else 404. Reporting a side effect is tested with tokens, scopes
and personas in tandem/medications/tests/test_patient_api.py.
"""

from __future__ import annotations

PORTAL = {"api:doses_today", "api:side_effects"}
API_WRITES = {"api:side_effect_report"}
