"""Side effects in the JSON API, for the signed-in or token-holding patient's own record.

POST /api/side-effects — the portal's report (FIBSER, the checklist, their own words, the medicine
they suspect): the same action, triaged and alerted, once per idempotency key (scope: AdverseEvent
create). GET /api/side-effects — their reports, newest first, with the prescriber's responses
(scope: AdverseEvent search).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from tandem.lib.api import ERRORS, WRITE_ERRORS, invalid, require_scope
from tandem.medications.access import access_own_regimen
from tandem.medications.actions import MedicationError
from tandem.medications.models import SideEffectReport
from tandem.medications.queries import prescriber_names
from tandem.medications.side_effect_actions import TEXT_MAX, do_report_side_effect
from tandem.medications.side_effects import FIBSER_MAX, SYMPTOMS, symptom_labels
from tandem.patients.access import access_own_patient

router = Router(tags=["Side effects"])
RESOURCE = "AdverseEvent"
ENTITY = "SideEffectReport"
PER_PAGE = 20


class SideEffectIn(Schema):
    regimen: int | None = Field(default=None, description="the medicine suspected; null: not sure")
    symptoms: list[str] = Field(
        default_factory=list, max_length=len(SYMPTOMS), description="keys of " + ", ".join(SYMPTOMS)
    )
    frequency: int = Field(ge=0, le=FIBSER_MAX, description="FIBSER: how often, 0–6")
    intensity: int = Field(ge=0, le=FIBSER_MAX, description="FIBSER: how strong, 0–6")
    burden: int = Field(ge=0, le=FIBSER_MAX, description="FIBSER: how much it gets in the way, 0–6")
    text: str = Field(default="", max_length=TEXT_MAX, description="the patient's own words")
    idempotency_key: str = Field(min_length=8, max_length=64)


class PrescriberResponse(Schema):
    code: str = Field(description="continue, adjust, stop or see")
    label: str
    note: str
    responded_at: datetime | None
    responded_by: str


class SideEffectOut(Schema):
    id: int
    reported_at: datetime
    regimen: int | None
    drug_name: str = Field(description="empty when the patient was not sure which medicine")
    symptoms: list[str]
    symptom_labels: list[str]
    frequency: int
    intensity: int
    burden: int
    text: str
    contact_prescriber_now: bool = Field(
        description="triaged urgent and not yet answered: contact the prescriber today, or "
        "emergency services when it is severe"
    )
    response: PrescriberResponse | None = Field(description="null until the prescriber responds")


class SideEffectCreated(SideEffectOut):
    created: bool = Field(description="false when this idempotency key was already recorded")
    prescribers: list[str] = Field(description="who will see the report")


class SideEffectPage(Schema):
    page: int
    next_page: int | None
    items: list[SideEffectOut]


def _report(report: SideEffectReport) -> dict[str, Any]:
    response = None
    if report.response:
        response = {
            "code": report.response,
            "label": report.get_response_display(),
            "note": report.response_note,
            "responded_at": report.responded_at,
            "responded_by": report.responded_by.display_name if report.responded_by else "",
        }
    return {
        "id": report.pk,
        "reported_at": report.reported_at,
        "regimen": report.regimen_id,
        "drug_name": report.regimen.drug_name if report.regimen else "",
        "symptoms": list(report.symptoms),
        "symptom_labels": symptom_labels(report.symptoms),
        "frequency": report.frequency,
        "intensity": report.intensity,
        "burden": report.burden,
        "text": report.text,
        "contact_prescriber_now": report.severity == "urgent" and not report.response,
        "response": response,
    }


@router.post(
    "/side-effects",
    response={201: SideEffectCreated, 200: SideEffectCreated, **WRITE_ERRORS},
    url_name="side_effect_report",
    operation_id="side_effect_report",
    summary="Report a side effect",
)
def report_side_effect(request: HttpRequest, payload: SideEffectIn) -> Any:
    """Triaged and sent to the prescriber as an alert (scope: AdverseEvent create). The same
    idempotency key returns the first report with 200."""
    require_scope(request, RESOURCE, "create")
    patient = access_own_patient(request, entity=ENTITY, audit_read=False).patient
    regimen = None
    if payload.regimen is not None:
        regimen = access_own_regimen(request, payload.regimen)
        if regimen is None:
            return Status(422, invalid("regimen", "is not one of your medications"))
    try:
        report, created = do_report_side_effect(
            patient,
            regimen=regimen,
            frequency=payload.frequency,
            intensity=payload.intensity,
            burden=payload.burden,
            symptoms=payload.symptoms,
            text=payload.text,
            idempotency_key=payload.idempotency_key,
            acting_user=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except MedicationError as exc:
        return Status(422, invalid(exc.field, str(exc)))
    body = {**_report(report), "created": created, "prescribers": prescriber_names(patient)}
    return Status(201 if created else 200, body)


@router.get(
    "/side-effects",
    response={200: SideEffectPage, **ERRORS},
    url_name="side_effects",
    operation_id="side_effect_list",
    summary="Your side-effect reports with the prescriber's responses",
)
def list_side_effects(request: HttpRequest, page: int = Query(1, ge=1, le=10_000)) -> Any:
    """Newest first, 20 a page (scope: AdverseEvent search). The read is audited."""
    require_scope(request, RESOURCE, "search")
    patient = access_own_patient(request, entity=ENTITY).patient
    start = (page - 1) * PER_PAGE
    rows = list(
        SideEffectReport.objects.filter(patient=patient)
        .select_related("regimen", "responded_by")
        .order_by("-reported_at", "-pk")[start : start + PER_PAGE + 1]
    )
    return {
        "page": page,
        "next_page": page + 1 if len(rows) > PER_PAGE else None,
        "items": [_report(r) for r in rows[:PER_PAGE]],
    }
