"""Fills (refills) and refill-based adherence (PDC), clinician side.

- `medications:fills`: the patient's fills, newest first. Readers: the care team and clinicians
  consented for "medications". Prescribers, care managers and therapists on the team also enter
  one (POST) and upload a CSV file of them (`medications:fills_import`, POST, this patient's
  rows only); anybody else posting gets 404, audited.
- `medications:adherence`: PDC per drug class over the measurement period and dose-based
  adherence per ISO week. Same readers.
"""

from __future__ import annotations

import io
import math
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tandem.audit.access import record_denied
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.lib.timezones import day_bounds, local_date
from tandem.medications import access, adherence, catalog, fills
from tandem.medications.actions import MedicationError
from tandem.medications.models import DoseLog, Fill, FillSource, Regimen, RegimenStatus
from tandem.medications.queries import patient_due_doses
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import Category
from tandem.patients.views import patient_tabs

ENTITY = fills.ENTITY
ADHERENCE_ENTITY = "MedicationAdherence"
OTHER = "other"
PERIOD_CHOICES = (fills.PDC_PERIOD_DAYS, 365)
DOSE_WEEKS = 8
UPLOAD_MAX_BYTES = 2 * 1024 * 1024


def _grant(request: AuthenticatedHttpRequest, patient_id: int, *, record: bool, entity: str) -> PatientGrant:
    """Medication readers; with `record`, only those who enter fills (404 and audited otherwise)."""
    grant = access_patient(request, patient_id, need=Category.MEDICATIONS, entity=entity, audit_read=False)
    if record and not fills.may_record_fills(grant):
        record_denied(request, entity, patient_id, patient=grant.patient)
        raise Http404
    audit_patient_read(request, grant, entity=entity, need="record_fill" if record else Category.MEDICATIONS)
    return grant


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "medications",
        "age": grant.patient.age_on(timezone.localdate()),
        "may_prescribe": access.may_prescribe(grant),
        "may_record_fills": fills.may_record_fills(grant),
        **extra,
    }


def class_label(drug_class: str, names: list[str] | None = None) -> str:
    label = catalog.classes().get(drug_class)
    if label:
        return label
    return names[0] if names else drug_class.removeprefix(catalog.FREE_PREFIX)


# --------------------------------------------------------------------------------------------
# Fills


def _days_supply(value: int) -> int:
    """The action's rule, checked with the rest of the form so that every error shows at once."""
    try:
        return fills.check_days_supply(value)
    except MedicationError as exc:
        raise forms.ValidationError(str(exc)) from None


class FillForm(forms.Form):
    medicine = forms.ChoiceField(label="Medicine", error_messages={"required": "choose the medicine"})
    drug = forms.CharField(
        label="Another medicine",
        required=False,
        max_length=160,
        help_text="When the medicine is not on the list: its catalog name.",
        widget=forms.TextInput(attrs={"list": "drug-list", "autocomplete": "off"}),
    )
    free_text = forms.BooleanField(label="Not in the catalog: record the name as typed", required=False)
    fill_date = forms.DateField(
        label="Date filled",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "give a date like 2026-01-31"},
    )
    days_supply = forms.IntegerField(
        label="Days' supply",
        help_text="How many days the fill lasts, 1 to 365.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid": "give a whole number of days"},
    )
    quantity = forms.DecimalField(
        label="Quantity",
        required=False,
        help_text="Tablets, capsules or mL dispensed (optional).",
        error_messages={"invalid": "give a number"},
    )
    key = forms.CharField(widget=forms.HiddenInput, min_length=8, max_length=64)

    def __init__(self, *args: Any, regimens: list[Regimen], today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["fill_date"].widget.attrs["max"] = today.isoformat()
        self.regimens = {str(r.pk): r for r in regimens}
        choices = [
            (
                str(r.pk),
                r.drug_name
                if r.status == RegimenStatus.ACTIVE
                else f"{r.drug_name} ({r.get_status_display().lower()})",
            )
            for r in regimens
        ]
        self.fields["medicine"].choices = [("", "Choose…"), *choices, (OTHER, "Another medicine…")]  # type: ignore[attr-defined]

    def clean_fill_date(self) -> date:
        value: date = self.cleaned_data["fill_date"]
        if value > self.today:
            raise forms.ValidationError("is in the future")
        return value

    def clean_days_supply(self) -> int:
        return _days_supply(self.cleaned_data["days_supply"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("medicine") == OTHER and not (data.get("drug") or "").strip():
            self.add_error("drug", "type the medicine's name")
        return data

    def chosen_medicine(self) -> Regimen | str:
        data = self.cleaned_data
        if data["medicine"] != OTHER:
            return self.regimens[data["medicine"]]
        text = data["drug"].strip()
        return f"{catalog.FREE_PREFIX}{text}" if data["free_text"] else text


def _current_first(patient_id: int) -> list[Regimen]:
    order: dict[str, int] = {RegimenStatus.ACTIVE: 0, RegimenStatus.HELD: 1, RegimenStatus.STOPPED: 2}
    regimens = list(Regimen.objects.filter(patient_id=patient_id))
    return sorted(regimens, key=lambda r: (order.get(r.status, 3), r.drug_name.lower(), r.pk))


def _fills_page(
    request: AuthenticatedHttpRequest, grant: PatientGrant, form: FillForm | None, status: int = 200
) -> HttpResponse:
    rows = (
        Fill.objects.filter(patient=grant.patient).select_related("entered_by").order_by("-fill_date", "-pk")
    )
    page = paginate(request, rows, per_page=25)
    labels = {f.pk: class_label(fills.fill_class(f), [f.drug_name]) for f in page.object_list}
    context = _base(
        grant,
        form=form,
        page=page,
        rows=[{"fill": f, "class_label": labels[f.pk]} for f in page.object_list],
        drug_list=catalog.all_drugs() if form is not None else (),
        today=local_date(timezone.now(), grant.patient.time_zone),
    )
    return render(request, "medications/fills/list.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def fill_list(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    posting = request.method == "POST"
    grant = _grant(request, patient_id, record=posting, entity=ENTITY)
    patient = grant.patient
    if not fills.may_record_fills(grant):
        return _fills_page(request, grant, None)
    regimens = _current_first(patient.pk)
    today = local_date(timezone.now(), patient.time_zone)
    if not posting:
        form = FillForm(
            initial={"key": secrets.token_urlsafe(16), "fill_date": today}, regimens=regimens, today=today
        )
        return _fills_page(request, grant, form)
    data = request.POST.copy()
    form = FillForm(data, regimens=regimens, today=today)
    if form.is_valid():
        cleaned = form.cleaned_data
        try:
            fill, created = fills.do_record_fill(
                patient,
                regimen_or_drug=form.chosen_medicine(),
                fill_date=cleaned["fill_date"],
                days_supply=cleaned["days_supply"],
                quantity=cleaned["quantity"],
                source=FillSource.STAFF,
                external_id=f"form:{cleaned['key']}",
                acting_user=request.user,
                request=request,
                role=grant.role,
            )
        except MedicationError as exc:
            if exc.field == "external_id":  # the form was sent before with other details
                data["key"] = secrets.token_urlsafe(16)  # the form's data: shown with a fresh key
                form.add_error(None, "This form was already sent. Check the fill and send it again.")
            elif exc.field == "regimen" or (exc.field == "drug" and cleaned["medicine"] != OTHER):
                form.add_error("medicine", str(exc))
            else:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            if created:
                messages.success(request, f"Fill recorded: {fill}.")
            return redirect("medications:fills", patient_id=patient.pk)
    return _fills_page(request, grant, form, status=400)


@login_required
@require_POST
def fill_import(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = _grant(request, patient_id, record=True, entity=ENTITY)
    back = redirect("medications:fills", patient_id=grant.patient.pk)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "CSV file: choose a file to upload.")
        return back
    if upload.size is not None and upload.size > UPLOAD_MAX_BYTES:
        messages.error(
            request, "CSV file: larger than 2 MB; ask an administrator to import it with import_fills."
        )
        return back
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        messages.error(request, "CSV file: not UTF-8 text; save it as “CSV UTF-8” and upload it again.")
        return back
    try:
        report = fills.import_fills(
            io.StringIO(text, newline=""),
            acting_user=request.user,
            only_patient=grant.patient,
            request=request,
            role=grant.role,
        )
    except fills.ImportFileError as exc:
        messages.error(request, f"CSV file: {exc}. Nothing was recorded.")
        return back
    return render(
        request,
        "medications/fills/import_report.html",
        _base(grant, report=report, filename=upload.name or "the file"),
    )


# --------------------------------------------------------------------------------------------
# Adherence


def percent_down(value: float | None) -> str:
    """One decimal, rounded down: 79.96 % shows as 79.9 %, never as an adherent-looking 80.0 %."""
    if value is None:
        return "—"
    return f"{math.floor(value * 1000) / 10:.1f}"


def _gaps(result: adherence.PdcResult) -> list[tuple[date, date, int]]:
    """Days from the index date to the end of the period not covered by any fill."""
    if result.index_date is None:
        return []
    gaps = []
    day = result.index_date
    for start, end in result.covered:
        if start > day:
            gaps.append((day, start - timedelta(days=1), (start - day).days))
        day = max(day, end + timedelta(days=1))
    if day <= result.period_end:
        gaps.append((day, result.period_end, (result.period_end - day).days + 1))
    return gaps


def _pdc_rows(
    results: dict[str, adherence.PdcResult], period_fills: list[Fill], current: set[str]
) -> list[dict[str, Any]]:
    names: dict[str, list[str]] = {}
    for fill in period_fills:
        drug_names = names.setdefault(fills.fill_class(fill), [])
        if fill.drug_name not in drug_names:
            drug_names.append(fill.drug_name)
    rows: list[dict[str, Any]] = []
    for drug_class, result in results.items():
        rows.append(
            {
                "result": result,
                "label": class_label(drug_class, names.get(drug_class)),
                "drugs": names.get(drug_class, []),
                "current": drug_class in current,
                "percent": percent_down(result.pdc),
                "threshold": int(result.threshold * 100),
                "source": adherence.SOURCES.get(result.rule, "") if result.rule else "",
                "gaps": _gaps(result),
            }
        )
    rows.sort(key=lambda row: (not row["current"], row["label"].casefold()))
    return rows


def _dose_weeks(grant: PatientGrant, now: datetime, today: date) -> list[dict[str, Any]]:
    """Dose-based adherence of the last DOSE_WEEKS ISO weeks, this one included (three queries)."""
    patient = grant.patient
    first_day = today - timedelta(days=today.weekday()) - timedelta(weeks=DOSE_WEEKS - 1)
    due = patient_due_doses(patient, first_day, today)
    start, _ = day_bounds(first_day, patient.time_zone)
    records = [
        adherence.DoseRecord(log.regimen_id, log.due_at, log.status, log.taken_at)  # type: ignore[arg-type]
        for log in DoseLog.objects.filter(patient=patient, due_at__gte=start).only(
            "regimen_id", "due_at", "status", "taken_at"
        )
        if log.due_at is not None
    ]
    result = adherence.dose_adherence(due, records, tz=patient.time_zone, now=now)
    weeks = []
    for n in range(DOSE_WEEKS):
        monday = first_day + timedelta(weeks=n)
        year, week, _ = monday.isocalendar()
        counts = result.by_week.get((year, week), adherence.DoseCounts())
        weeks.append(
            {
                "label": f"{year}-W{week:02d}",
                "monday": monday,
                "sunday": monday + timedelta(days=6),
                "counts": counts,
                "percent": percent_down(counts.ratio),
            }
        )
    weeks.reverse()  # newest first
    return weeks


@login_required
def adherence_page(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_medications_patient(request, patient_id, entity=ADHERENCE_ENTITY)
    patient = grant.patient
    raw = request.GET.get("days", "")
    days = int(raw) if raw.isdigit() and int(raw) in PERIOD_CHOICES else fills.PDC_PERIOD_DAYS
    now = timezone.now()
    today = local_date(now, patient.time_zone)
    results, period_fills = fills.patient_pdc(patient, today, days)
    active = Regimen.objects.filter(patient=patient, status=RegimenStatus.ACTIVE)
    current = {fills.regimen_class(r) for r in active}
    start, end = fills.pdc_period(today, days)
    rules = adherence.PQA
    context = _base(
        grant,
        pdc_rows=_pdc_rows(results, period_fills, current),
        period_start=start,
        period_end=end,
        days=days,
        period_choices=PERIOD_CHOICES,
        rules=rules,
        threshold=int(rules.threshold * 100),
        weeks=_dose_weeks(grant, now, today),
        grace_hours=int(adherence.DOSE_RULES.grace.total_seconds() // 3600),
        late_hours=int(adherence.DOSE_RULES.late_after.total_seconds() // 3600),
        sources=[
            (key, adherence.SOURCES[key])
            for key in (
                "pdc",
                "pdc_threshold",
                "pdc_index_date",
                "pdc_min_treatment_days",
                "pdc_min_fill_dates",
                "pdc_day_array",
                "pdc_truncation",
                "pdc_shift_same_drug",
                "pdc_class_overlap",
                "dose_ratio",
                "dose_grace",
                "dose_late_after",
            )
        ],
    )
    return render(request, "medications/fills/adherence.html", context)


urlpatterns = [
    path("<int:patient_id>/medications/fills/", fill_list, name="fills"),
    path("<int:patient_id>/medications/fills/import/", fill_import, name="fills_import"),
    path("<int:patient_id>/medications/adherence/", adherence_page, name="adherence"),
]
