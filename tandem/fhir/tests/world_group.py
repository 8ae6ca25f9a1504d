"""Groups need no records of their own: a caseload is the care teams, an organisation its
patients. Their ids, for the tests that export them."""

from __future__ import annotations

from typing import Any


def build(personas: Any, world: Any) -> None:
    world.extra["caseload_group"] = f"caseload-{personas.therapist.pk}"
    world.extra["org_group"] = f"org-{personas.patient.organisation_id}"
