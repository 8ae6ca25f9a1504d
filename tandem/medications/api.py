"""Doses in the JSON API, for the signed-in or token-holding patient's own medications.

GET /api/doses/today — today's doses in the patient's own time zone, from the same query as the
portal's list (scope: MedicationAdministration search).
POST /api/doses — the same action as the portal's one-tap button (idempotency key included)
(scope: MedicationAdministration create).

Side effects (AdverseEvent scopes) are in tandem/medications/side_effect_api.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import Field

from tandem.lib.api import ERRORS, WRITE_ERRORS, invalid, require_scope
from tandem.lib.timezones import local_date
from tandem.medications.access import access_own_regimen
from tandem.medications.actions import MedicationError, describe, do_log_dose
from tandem.medications.models import Regimen, RegimenStatus, ScheduleKind
from tandem.medications.queries import doses_for_day
from tandem.patients.access import access_own_patient

router = Router(tags=["Doses"])
RESOURCE = "MedicationAdministration"


class DoseIn(Schema):
    regimen: int
    status: str = Field(description="taken, taken_late, skipped or prn (as needed)")
    due_at: datetime | None = Field(default=None, description="the scheduled dose; none for as-needed doses")
    taken_at: datetime | None = None
    reason: str = Field(default="", max_length=300)
    idempotency_key: str = Field(min_length=8, max_length=64)


class DueDoseOut(Schema):
    regimen: int
    drug_name: str
    dose: str = Field(description='what is prescribed, in words: "50 mg at 08:00 and 20:00"')
    due_at: datetime
    local_time: str = Field(description="the due time on the patient's clock, HH:MM")
    status: str | None = Field(description="what was logged for this dose; null while nothing is")
    taken_at: datetime | None
    log_id: int | None


class AsNeededOut(Schema):
    regimen: int
    drug_name: str
    dose: str


class TodayOut(Schema):
    day: date = Field(description="today in the patient's time zone")
    time_zone: str
    doses: list[DueDoseOut] = Field(description="the scheduled doses of the day, in time order")
    as_needed: list[AsNeededOut] = Field(description="medications taken as needed, logged with status prn")


class DoseOut(Schema):
    id: int
    regimen: int
    status: str
    due_at: datetime | None
    taken_at: datetime | None
    created: bool = Field(description="false when this idempotency key was already recorded")


@router.get(
    "/doses/today",
    response={200: TodayOut, **ERRORS},
    url_name="doses_today",
    operation_id="doses_today",
    summary="Today's doses of your medications",
)
def doses_today(request: HttpRequest) -> Any:
    """The scheduled doses of the patient's local day with what was logged for each, and the
    as-needed medications (scope: MedicationAdministration search). The read is audited."""
    require_scope(request, RESOURCE, "search")
    patient = access_own_patient(request, entity=RESOURCE).patient
    today = local_date(timezone.now(), patient.time_zone)
    doses = [
        {
            "regimen": row.regimen.pk,
            "drug_name": row.regimen.drug_name,
            "dose": describe(row.version),
            "due_at": row.due_at,
            "local_time": timezone.localtime(row.due_at, patient.tz).strftime("%H:%M"),
            "status": row.log.status if row.log else None,
            "taken_at": row.log.taken_at if row.log else None,
            "log_id": row.log.pk if row.log else None,
        }
        for row in doses_for_day(patient, today)
    ]
    as_needed = [
        {"regimen": r.pk, "drug_name": r.drug_name, "dose": describe(r.current)}
        for r in Regimen.objects.filter(
            patient=patient, status=RegimenStatus.ACTIVE, current__schedule_kind=ScheduleKind.AS_NEEDED
        )
        .select_related("current")
        .order_by("drug_name", "pk")
        if r.current is not None
    ]
    return {"day": today, "time_zone": patient.time_zone, "doses": doses, "as_needed": as_needed}


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
        return Status(422, invalid("regimen", "is not one of your medications"))
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
        return Status(422, invalid(exc.field, str(exc)))
    body = {
        "id": log.pk,
        "regimen": log.regimen_id,
        "status": log.status,
        "due_at": log.due_at,
        "taken_at": log.taken_at,
        "created": created,
    }
    return Status(201 if created else 200, body)
