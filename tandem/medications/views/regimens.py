"""Medications, clinician side: the list, one regimen's history, start and change with the
prescribing checks shown before saving."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.timezones import local_date
from tandem.medications import access, actions, catalog, checks, drugs, titration
from tandem.medications import charts as charts_lib
from tandem.medications.adherence import ScheduledDose, dose_adherence
from tandem.medications.forms import CHANGE_KINDS, ChangeForm, StartForm
from tandem.medications.models import DoseLog, Regimen, RegimenStatus, RegimenVersion
from tandem.medications.queries import patient_due_doses
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "medications",
        "age": grant.patient.age_on(timezone.localdate()),
        "may_prescribe": access.may_prescribe(grant),
        **extra,
    }


def _adherence(grant: PatientGrant, regimens: list[Regimen], weeks: int = 8) -> tuple[dict[int, Any], Any]:
    """Dose-based adherence: the last 30 days per regimen, and week by week for all (three queries)."""
    from tandem.medications.adherence import DoseRecord

    patient = grant.patient
    now = timezone.now()
    today = local_date(now, patient.time_zone)
    due = patient_due_doses(
        patient, today - timedelta(weeks=weeks), today, regimen_ids=[r.pk for r in regimens]
    )
    logs = DoseLog.objects.filter(patient=patient, due_at__gte=now - timedelta(weeks=weeks, days=2)).exclude(
        due_at=None
    )
    records = [
        DoseRecord(regimen_id=log.regimen_id, due_at=log.due_at, status=log.status, taken_at=log.taken_at)  # type: ignore[arg-type]
        for log in logs
        if log.due_at is not None
    ]
    scheduled = [ScheduledDose(d.regimen_id, d.due_at) for d in due]
    per_regimen: dict[int, Any] = {}
    for regimen in regimens:
        mine = [d for d in scheduled if d.regimen_id == regimen.pk and d.due_at >= now - timedelta(days=30)]
        if mine:
            per_regimen[regimen.pk] = dose_adherence(
                mine, [r for r in records if r.regimen_id == regimen.pk], tz=patient.time_zone, now=now
            ).last_days
    overall = dose_adherence(scheduled, records, tz=patient.time_zone, now=now)
    return per_regimen, overall


@login_required
def medications(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_medications_patient(request, patient_id)
    regimens = list(
        Regimen.objects.filter(patient=grant.patient)
        .select_related("current", "prescriber")
        .order_by("status", "drug_name")
    )
    current = [r for r in regimens if r.status != RegimenStatus.STOPPED]
    adherence, overall = _adherence(grant, [r for r in current if r.status == RegimenStatus.ACTIVE])
    today = local_date(timezone.now(), grant.patient.time_zone)
    versions = list(
        RegimenVersion.objects.filter(regimen__in=regimens).order_by("regimen_id", "effective_at")
    )
    charts = {
        "doses": charts_lib.dose_chart(
            regimens, versions, grant.patient.time_zone, today - timedelta(days=120), today
        ),
        "weeks": charts_lib.weekly_adherence_chart(overall, 8, today),
    }
    rows = [
        {
            "regimen": r,
            "what": actions.describe(r.current) if r.current else "",
            "adherence": adherence.get(r.pk),
        }
        for r in current
    ]
    stopped = [r for r in regimens if r.status == RegimenStatus.STOPPED]
    return render(request, "medications/list.html", _base(grant, rows=rows, stopped=stopped, charts=charts))


@login_required
def detail(request: AuthenticatedHttpRequest, patient_id: int, regimen_id: int) -> HttpResponse:
    grant = access.access_medications_patient(request, patient_id)
    regimen = access.access_regimen(grant, request, regimen_id)
    versions = list(
        RegimenVersion.objects.filter(regimen=regimen).select_related("author").order_by("-number")
    )
    now = timezone.now()
    history = [{"version": v, "what": actions.describe(v)} for v in versions if v.effective_at <= now]
    planned = [
        {"version": v, "what": actions.describe(v)} for v in reversed(versions) if v.effective_at > now
    ]
    return render(
        request, "medications/detail.html", _base(grant, regimen=regimen, history=history, planned=planned)
    )


def _drug_list(grant: PatientGrant) -> list[Any]:
    return sorted(
        [*catalog.all_drugs(), *drugs.extras(grant.patient.organisation_id)], key=lambda d: d.name.lower()
    )


@login_required
@require_http_methods(["GET", "POST"])
def start(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_medications_patient(request, patient_id, prescribe=True)
    patient = grant.patient
    form = StartForm(request.POST or None)
    findings: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        drug = _drug_from_input(grant, data["drug"])
        steps = _titration_steps(form, drug, data, patient)
        if not form.errors and data["dose_unit"] not in drugs.units_for(drug):
            form.add_error("dose_unit", f"{drug.name} is prescribed in {', '.join(drugs.units_for(drug))}")
        if not form.errors:
            findings = checks.findings_for(patient, drug, daily_dose(data), change="start")
            if _ready(form, findings):
                try:
                    with transaction.atomic():
                        regimen = actions.do_start_regimen(
                            patient,
                            drug_key=drug.key,
                            drug_name=drug.name,
                            drug_classes=list(drug.classes),
                            dose_amount=data["dose_amount"],
                            dose_unit=data["dose_unit"],
                            route=data["route"],
                            schedule_kind=data["schedule_kind"],
                            times=data["times"],
                            every_days=data["every_days"],
                            prn_max_per_day=data["prn_max_per_day"],
                            indication=data["indication"],
                            instructions=data["instructions"],
                            reason=data["reason"],
                            acting_user=request.user,
                            role=grant.role,
                            findings=findings,
                            override_reason=data["override_reason"],
                            request=request,
                        )
                        if steps[1:]:
                            actions.do_plan_steps(
                                regimen,
                                steps[1:],
                                reason="Titration",
                                acting_user=request.user,
                                role=grant.role,
                                request=request,
                            )
                except actions.MedicationError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, str(exc))
                else:
                    messages.success(request, f"{regimen.drug_name} started.")
                    return redirect("medications:detail", patient_id=patient.pk, regimen_id=regimen.pk)
    return render(
        request,
        "medications/start.html",
        _base(grant, form=form, findings=findings, drug_list=_drug_list(grant)),
        status=400 if form.errors else 200,
    )


def _taper(
    request: AuthenticatedHttpRequest, grant: PatientGrant, regimen: Regimen, form: Any, data: dict[str, Any]
) -> HttpResponse:
    """Plan a taper from tomorrow: steps down by a fixed amount every few days (titration.taper)."""
    current = regimen.current
    assert current is not None
    start = local_date(timezone.now(), grant.patient.time_zone) + timedelta(days=1)
    try:
        steps = titration.taper(
            start,
            float(current.daily_amount),
            float(data["taper_to_mg"]),
            float(data["taper_step_mg"]),
            data["taper_every_days"],
        )
        actions.do_plan_steps(
            regimen, steps, reason=data["reason"], acting_user=request.user, role=grant.role, request=request
        )
    except (ValueError, actions.MedicationError) as exc:
        form.add_error("taper_to_mg" if isinstance(exc, ValueError) else None, str(exc))
        return render(
            request,
            "medications/change.html",
            _base(grant, form=form, regimen=regimen, findings=[], what=actions.describe(current)),
            status=400,
        )
    messages.success(request, f"{regimen.drug_name}: taper planned in {len(steps)} steps.")
    return redirect("medications:detail", patient_id=grant.patient.pk, regimen_id=regimen.pk)


def _titration_steps(form: Any, drug: catalog.Drug, data: dict[str, Any], patient: Any) -> list[Any]:
    """The dated steps of the chosen titration; the first one sets the starting dose (into data)."""
    key = data.get("titration")
    if not key:
        return []
    if drug.key != "lamotrigine":
        form.add_error("titration", "These titrations are for lamotrigine.")
        return []
    if data.get("schedule_kind") != "scheduled" or not data.get("times"):
        form.add_error("titration", "A titration needs set times of day.")
        return []
    start_day = local_date(timezone.now(), patient.time_zone)
    steps = titration.lamotrigine(
        start_day,
        with_valproate=key == "lamotrigine_valproate",
        with_enzyme_inducer=key == "lamotrigine_inducer",
    )
    first = steps[0]
    every = 2 if "every other day" in first.instruction else 1
    data["every_days"] = every
    data["dose_amount"] = Decimal(str(first.daily_dose_mg * every / len(data["times"])))
    data["dose_unit"] = "mg"
    data["instructions"] = data.get("instructions") or first.instruction
    return list(steps)


def daily_dose(data: dict[str, Any]) -> float | None:
    if data.get("dose_unit") != "mg" or data.get("schedule_kind") != "scheduled":
        return None
    return float(data["dose_amount"]) * len(data.get("times") or []) / (data.get("every_days") or 1)


def _drug_from_input(grant: PatientGrant, text: str) -> catalog.Drug:
    text = text.strip()
    for drug in _drug_list(grant):
        if text.lower() in (drug.key.lower(), drug.name.lower()):
            return drug
    return catalog.free_text(text)


def _ready(form: Any, findings: list[dict[str, Any]]) -> bool:
    """Checks with something to say are shown before saving (again if they changed since they
    were shown); those that need a reason get one."""
    shown = ",".join(sorted(f["rule_id"] for f in findings))
    if findings and form.cleaned_data.get("confirmed") != shown:
        form.data = form.data.copy()
        form.data["confirmed"] = shown
        return False
    if any(f.get("requires_override_reason") for f in findings) and not form.cleaned_data.get(
        "override_reason"
    ):
        form.add_error("override_reason", "A check needs your reason to go ahead.")
        return False
    return True


@login_required
@require_http_methods(["GET", "POST"])
def change(request: AuthenticatedHttpRequest, patient_id: int, regimen_id: int) -> HttpResponse:
    grant = access.access_medications_patient(request, patient_id, prescribe=True)
    regimen = access.access_regimen(grant, request, regimen_id)
    current = regimen.current
    assert current is not None
    initial = {
        "dose_amount": current.dose_amount,
        "dose_unit": current.dose_unit,
        "route": current.route,
        "schedule_kind": current.schedule_kind,
        "times": ", ".join(current.times),
        "every_days": current.every_days,
        "prn_max_per_day": current.prn_max_per_day,
        "instructions": current.instructions,
    }
    form = ChangeForm(request.POST or None, initial=initial)
    findings: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            drug = drugs.resolve(regimen.drug_key, grant.patient.organisation_id)
        except KeyError:
            drug = catalog.free_text(regimen.drug_name)
        if data["dose_unit"] not in drugs.units_for(drug):
            form.add_error("dose_unit", f"{drug.name} is prescribed in {', '.join(drugs.units_for(drug))}")
        else:
            kind = data["kind"]
            if kind == "taper":
                return _taper(request, grant, regimen, form, data)
            new_dose, old_dose = daily_dose(data), float(current.daily_amount) or None
            checked_as = kind
            if kind == "change" and new_dose is not None and old_dose is not None and new_dose != old_dose:
                checked_as = "increase" if new_dose > old_dose else "decrease"
            if checked_as in ("increase", "decrease", "resume"):
                # The regimen itself is passed too: the rules know a dose change of the same drug.
                findings = checks.findings_for(grant.patient, drug, new_dose, change=checked_as)
            if _ready(form, findings):
                prescription = (
                    {}
                    if kind in ("hold", "stop")
                    else {
                        k: data[k]
                        for k in (
                            "dose_amount",
                            "dose_unit",
                            "route",
                            "schedule_kind",
                            "times",
                            "every_days",
                            "prn_max_per_day",
                            "instructions",
                        )
                    }
                )
                try:
                    actions.do_change_regimen(
                        regimen,
                        kind=kind,
                        reason=data["reason"],
                        acting_user=request.user,
                        role=grant.role,
                        findings=findings,
                        override_reason=data["override_reason"],
                        request=request,
                        **prescription,
                    )
                except actions.MedicationError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, str(exc))
                else:
                    messages.success(
                        request, f"{regimen.drug_name}: {dict(CHANGE_KINDS)[kind].lower()} saved."
                    )
                    return redirect("medications:detail", patient_id=grant.patient.pk, regimen_id=regimen.pk)
    return render(
        request,
        "medications/change.html",
        _base(grant, form=form, regimen=regimen, findings=findings, what=actions.describe(current)),
        status=400 if form.errors else 200,
    )
