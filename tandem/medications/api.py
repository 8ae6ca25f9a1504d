"""Doses in the JSON API: the patient (or an app acting for them) records a dose.

POST /api/doses — the same action as the portal's one-tap button (idempotency key included), for
the signed-in or token-holding patient's own medications. Scope: MedicationAdministration write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from tandem.lib.api import WRITE_ERRORS, error_body, require_scope
from tandem.medications.access import access_own_regimen
from tandem.medications.actions import MedicationError, do_log_dose

router = Router(tags=["Doses"])
RESOURCE = "MedicationAdministration"


class DoseIn(Schema):
    regimen: int
    status: str = Field(description="taken, taken_late, skipped or prn (as needed)")
    due_at: datetime | None = Field(default=None, description="the scheduled dose; none for as-needed doses")
    taken_at: datetime | None = None
    reason: str = ""
    idempotency_key: str = Field(min_length=8, max_length=64)


class DoseOut(Schema):
    id: int
    regimen: int
    status: str
    due_at: datetime | None
    taken_at: datetime | None
    created: bool = Field(description="false when this idempotency key was already recorded")


@router.post(
    "/doses",
    response={201: DoseOut, 200: DoseOut, **WRITE_ERRORS},
    url_name="dose_log",
    operation_id="dose_log",
    summary="Record a dose of one of your medications",
)
def log_dose(request: HttpRequest, payload: DoseIn) -> Any:
    require_scope(request, RESOURCE, "create")
    regimen = access_own_regimen(request, payload.regimen)
    if regimen is None:
        return Status(
            422, error_body("The request is not valid.", {"regimen": ["is not one of your medications"]})
        )
    try:
        log, created = do_log_dose(
            regimen.patient,
            regimen,
            status=payload.status,
            due_at=payload.due_at,
            taken_at=payload.taken_at,
            reason=payload.reason,
            idempotency_key=payload.idempotency_key,
            acting_user=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except MedicationError as exc:
        return Status(422, error_body("The request is not valid.", {exc.field: [str(exc)]}))
    body = {
        "id": log.pk,
        "regimen": log.regimen_id,
        "status": log.status,
        "due_at": log.due_at,
        "taken_at": log.taken_at,
        "created": created,
    }
    return Status(201 if created else 200, body)
