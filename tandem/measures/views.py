"""Clinician pages: a patient's instrument responses, one response, and administering an
instrument in session (the same action as the portal and FHIR)."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.measures import definitions
from tandem.measures.access import access_measures_patient, access_response, may_administer
from tandem.measures.actions import MeasureError, do_record_response
from tandem.measures.definitions import Definition
from tandem.measures.forms import InstrumentForm
from tandem.measures.models import AdministeredBy, InstrumentResponse, Source, TreatmentSignal
from tandem.measures.schedule import due_instruments
from tandem.patients.access import PatientGrant
from tandem.patients.views import patient_tabs


def _base(grant: PatientGrant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant,
        "patient": grant.patient,
        "tabs": patient_tabs(grant),
        "tab": "measures",
        "age": grant.patient.age_on(timezone.localdate()),
        **extra,
    }


def _definition(instrument: str) -> Definition:
    try:
        return definitions.get(instrument)
    except KeyError:
        raise Http404 from None


def _names() -> dict[str, str]:
    return {d.id: d.short_name for d in definitions.registry().values()}


@login_required
def responses(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access_measures_patient(request, patient_id)
    patient = grant.patient
    rows = InstrumentResponse.objects.filter(patient=patient).defer("raw_resource", "answers")
    page = paginate(request, rows, per_page=50)
    today = timezone.localtime(timezone.now(), patient.tz).date()
    names = _names()
    context = _base(
        grant,
        page=page,
        rows=[{"r": r, "name": names.get(r.instrument, r.instrument)} for r in page.object_list],
        due=due_instruments(patient, today),
        today=today,
        can_administer=may_administer(grant),
        instruments=[d for d in definitions.registry().values() if d.scoring.method != "none"],
        latest=latest_scores(grant),
    )
    return render(request, "measures/responses.html", context)


def latest_scores(grant: PatientGrant) -> list[dict[str, Any]]:
    """The latest scored response of each instrument given, with its treat-to-target signal and
    whether it has a trend (three queries)."""
    patient = grant.patient
    last = dict(
        InstrumentResponse.objects.filter(patient=patient, scored=True)
        .order_by()
        .values("instrument")
        .annotate(last=Max("authored_at"))
        .values_list("instrument", "last")
    )
    if not last:
        return []
    rows = InstrumentResponse.objects.filter(
        patient=patient, scored=True, instrument__in=list(last), authored_at__in=list(last.values())
    ).only("id", "instrument", "authored_at", "total", "band_label")
    latest = {r.instrument: r for r in rows if r.authored_at == last[r.instrument]}
    signals = {s.instrument: s for s in TreatmentSignal.objects.filter(patient=patient)}
    registry = definitions.registry()
    found = []
    for instrument in sorted(latest, key=lambda i: registry[i].short_name if i in registry else i):
        defn = registry.get(instrument)
        found.append(
            {
                "r": latest[instrument],
                "name": defn.short_name if defn else instrument,
                "instrument": instrument,
                "trend": defn is not None and defn.scoring.method == "sum" and bool(defn.bands),
                "signal": signals.get(instrument),
            }
        )
    return found


@login_required
def response_detail(request: AuthenticatedHttpRequest, patient_id: int, response_id: int) -> HttpResponse:
    grant = access_measures_patient(request, patient_id)
    response = access_response(grant, request, response_id)
    defn = definitions.registry().get(response.instrument)
    rows = []
    for item in defn.items if defn else ():
        given = response.answers.get(item.link_id) or {}
        shown = given.get("display") or given.get("text") or given.get("value")
        rows.append(
            {
                "item": item,
                "shown": "" if shown is None else str(shown),
                "code": given.get("code", ""),
                "value": given.get("value"),
                "missing": item.link_id in response.missing,
            }
        )
    context = _base(grant, response=response, definition=defn, rows=rows)
    return render(request, "measures/response.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def administer(request: AuthenticatedHttpRequest, patient_id: int, instrument: str) -> HttpResponse:
    grant = access_measures_patient(request, patient_id, administer=True)
    defn = _definition(instrument)
    if request.method != "POST":
        form = InstrumentForm(initial={"key": secrets.token_urlsafe(16)}, definition=defn)
        return _form_page(request, grant, form, 200)
    form = InstrumentForm(request.POST, definition=defn)
    if form.is_valid():
        try:
            submission = do_record_response(
                grant.patient,
                instrument=defn.id,
                answers=form.answers(),
                administered_by=AdministeredBy.CLINICIAN,
                source=Source.CLINICIAN,
                idempotency_key=form.cleaned_data["key"],
                acting_user=request.user,
                request=request,
                role=grant.role,
                sex=form.cleaned_data.get("sex") or None,
            )
        except MeasureError as exc:
            for link_id, message in exc.errors:
                name = form.name_for(link_id)
                form.add_error(name if name else None, message)
        else:
            return redirect(
                reverse(
                    "measures:response",
                    kwargs={"patient_id": grant.patient.pk, "response_id": submission.response.pk},
                )
            )
    return _form_page(request, grant, form, 400)


def _form_page(
    request: AuthenticatedHttpRequest, grant: PatientGrant, form: InstrumentForm, status: int
) -> HttpResponse:
    context = _base(grant, form=form, definition=form.definition, questions=form.questions())
    return render(request, "measures/administer.html", context, status=status)
