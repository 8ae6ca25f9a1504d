"""Labs and monitoring, clinician side: results by kind with their flags and the sources of the
thresholds, the monitoring due and overdue, the thresholds in force, and a form to record a result.

Readers: the care team and clinicians consented for "medications" (as for every medication page).
Anyone on the care team records a result; anybody else posting gets 404, audited.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from tandem.audit.access import record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.timezones import at_local, local_date
from tandem.medications import access, labs, monitoring
from tandem.medications.actions import MedicationError
from tandem.medications.models import LabResult
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import Category
from tandem.patients.views import patient_tabs

ENTITY = "Observation"
RESULTS_SHOWN = 200
FIELDS = ("kind", "value", "unit", "observed_at", "note")


def may_record_labs(grant: PatientGrant) -> bool:
    return grant.basis == "care_team"


def access_lab_entry(request: HttpRequest, patient_id: Any) -> PatientGrant:
    """The grant of a care-team member, who may record results; 404 (audited) for anybody else.
    (Belongs in medications/access.py beside may_prescribe; kept here while that file is not ours.)"""
    grant = access_patient(request, patient_id, need=Category.MEDICATIONS, entity=ENTITY, audit_read=False)
    if not may_record_labs(grant):
        record_denied(request, ENTITY, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=ENTITY, need="record_labs")
    return grant


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "medications",
        "age": grant.patient.age_on(timezone.localdate()),
        "may_prescribe": access.may_prescribe(grant),
        "may_record": may_record_labs(grant),
        **extra,
    }


@login_required
def lab_results(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_medications_patient(request, patient_id, entity=ENTITY)
    return _page(request, grant)


@login_required
@require_POST
def record_lab(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access_lab_entry(request, patient_id)
    patient = grant.patient
    typed = {name: request.POST.get(name, "").strip() for name in FIELDS}
    try:
        recorded = monitoring.do_record_lab(
            patient,
            kind=typed["kind"],
            value=typed["value"],
            unit=typed["unit"],
            observed_at=_parse_local(typed["observed_at"], patient.time_zone),
            note=typed["note"],
            acting_user=request.user,
            role=grant.role,
            request=request,
        )
    except MedicationError as exc:
        return _page(request, grant, errors={exc.field: str(exc)}, typed=typed, status=400)
    flag = recorded.flag
    said = "Already recorded." if not recorded.created else f"Recorded. {flag.message}"
    if recorded.satisfied:
        said += f" It answers {len(recorded.satisfied)} monitoring item{'s' if len(recorded.satisfied) != 1 else ''}."
    if recorded.alert is not None:
        said += (
            " The prescriber has been alerted."
            if recorded.alert_created
            else " An alert about it is already open."
        )
    (messages.warning if flag.out_of_range else messages.success)(request, said)
    return redirect("medications:labs", patient_id=patient.pk)


def _parse_local(text: str, tz: str) -> datetime | None:
    """ "2025-03-01T09:30" (a datetime-local input) in the patient's zone; None when empty."""
    if not text:
        return None
    day_text, _, time_text = text.replace(" ", "T").partition("T")
    try:
        day = date.fromisoformat(day_text)
        at = time.fromisoformat(time_text) if time_text else time(0, 0)
    except ValueError:
        raise MedicationError("observed_at", "enter a date and time like 2025-03-01 09:30") from None
    return at_local(day, at, tz)


def _page(
    request: HttpRequest,
    grant: PatientGrant,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    patient = grant.patient
    now = timezone.now()
    today = local_date(now, patient.time_zone)
    organisation = patient.organisation
    results = list(
        LabResult.objects.filter(patient=patient)
        .select_related("entered_by")
        .order_by("-observed_at", "-pk")[:RESULTS_SHOWN]
    )
    rules = {kind: labs.thresholds(kind, organisation) for kind in labs.KINDS}
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for lab in results:
        by_kind.setdefault(lab.kind, []).append(_row(lab, organisation))
    groups = [
        {"kind": labs.KINDS[kind], "rules": rules[kind], "rows": by_kind[kind]}
        for kind in labs.KINDS
        if kind in by_kind
    ]
    unknown = [lab for lab in results if lab.kind not in labs.KINDS]
    due = monitoring.overview(patient, today)
    items = monitoring.items_by_rule()
    errors = errors or {}
    context = _base(
        grant,
        groups=groups,
        unknown=unknown,
        shown_limit=RESULTS_SHOWN if len(results) == RESULTS_SHOWN else None,
        overdue=[_due_row(row, items, today) for row in due.overdue],
        upcoming=[_due_row(row, items, today) for row in due.upcoming],
        later=due.later,
        thresholds=[_threshold_rows(rules[kind]) for kind in labs.KINDS],
        kinds=list(labs.KINDS.values()),
        units=sorted({u.name for k in labs.KINDS.values() for u in k.units}),
        typed=typed or {"observed_at": timezone.localtime(now, patient.tz).strftime("%Y-%m-%dT%H:%M")},
        errors=errors,
        other_errors=[message for name, message in errors.items() if name not in FIELDS],
        grace=monitoring.setting("overdue_grace_days"),
        confidence_labels=labs.CONFIDENCE_LABELS,
    )
    return render(request, "medications/labs/page.html", context, status=status)


def _row(lab: LabResult, organisation: Any) -> dict[str, Any]:
    """One result with its stored flag, explained by the thresholds in force now when they agree
    with it (a weight flagged against its baseline, or a threshold changed since, says so)."""
    level = lab.flag or "normal"
    message, source = "", None
    try:
        flag = labs.evaluate(lab.kind, lab.value, lab.unit, organisation=organisation)
    except (labs.LabInputError, KeyError):
        flag = None
    if flag is not None and flag.level == level:
        message, source = flag.message, flag.source
    elif level != "normal":
        message = f"Flagged {level} when it was recorded (see the alert for why)."
    return {
        "lab": lab,
        "value": labs.quantity(lab.value, lab.unit),
        "level": level,
        "message": message,
        "source": labs.cite(source),
        "unverified": source is not None and source.confidence == "unverified",
    }


def _due_row(row: Any, items: Any, today: date) -> dict[str, Any]:
    item = items.get(row.rule_id)
    return {
        "row": row,
        "label": labs.test_label(row.kind),
        "days": (row.due_date - today).days,
        "late": (today - row.due_date).days,
        "choice": item.choice if item else "",
        "unverified": bool(item and item.unverified),
    }


def _threshold_rows(rules: labs.Thresholds) -> dict[str, Any]:
    return {
        "kind": rules.kind,
        "rules": rules,
        "units": ", ".join(u.name for u in rules.kind.units),
        "plausible": f"{labs.fmt(rules.kind.plausible[0])}–{labs.quantity(rules.kind.plausible[1], rules.kind.canonical)}",
        "cuts": [
            {
                "cut": cut,
                "when": rules.describe(cut),
                "source": labs.cite(cut.source),
                "unverified": cut.source.confidence == "unverified",
            }
            for cut in rules.cuts
        ],
        "notes": [{"text": n.text, "source": labs.cite(n.source)} for n in rules.notes],
    }


urlpatterns = [
    path("<int:patient_id>/medications/labs/", lab_results, name="labs"),
    path("<int:patient_id>/medications/labs/record/", record_lab, name="lab_record"),
]
