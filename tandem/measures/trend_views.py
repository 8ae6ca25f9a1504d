"""Trend pages: the clinician's trend of one instrument (total or one question), the same as a
one-page PDF, and the patient's own trend in the portal. Each is a fixed number of queries
(trend.load: five, after access)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.timezones import local_date
from tandem.measures import definitions
from tandem.measures import trend as trends
from tandem.measures.access import ENTITY, access_measures_patient
from tandem.measures.definitions import Definition, Item
from tandem.measures.signals.present import explain
from tandem.measures.views import _base
from tandem.patients.access import access_own_patient


def trendable_definition(instrument: str) -> Definition:
    defn = definitions.registry().get(instrument)
    if defn is None or not trends.trendable(defn):
        raise Http404
    return defn


def chosen_item(defn: Definition, given: str | None) -> tuple[Item | None, str]:
    """The question asked for with ?item=<linkId>, or the total; a message names a bad one."""
    if not given:
        return None, ""
    for item in trends.scored_items(defn):
        if item.link_id == given:
            return item, ""
    return (
        None,
        f"item: {given[:40]!r} is not a scored question of the {defn.short_name}; the total is shown.",
    )


def _items(defn: Definition, item: Item | None) -> list[dict[str, Any]]:
    return [
        {
            "item": i,
            "selected": item is not None and i.link_id == item.link_id,
            "label": f"{i.number}. {i.short or i.text}",
        }
        for i in trends.scored_items(defn)
    ]


@login_required
def trend(request: AuthenticatedHttpRequest, patient_id: int, instrument: str) -> HttpResponse:
    grant = access_measures_patient(request, patient_id)
    defn = trendable_definition(instrument)
    item, problem = chosen_item(defn, request.GET.get("item"))
    today = local_date(timezone.now(), grant.patient.time_zone)
    data = trends.load(grant.patient, defn, today, item=item)
    context = _base(
        grant,
        definition=defn,
        trend=data,
        chart=trends.chart(data),
        item=item,
        items=_items(defn, item),
        problem=problem,
        sources=trends.sources(data),
        signal=explain(data.signal) if item is None else None,
        others=[d for d in definitions.registry().values() if trends.trendable(d) and d.id != defn.id],
    )
    return render(request, "measures/trend.html", context)


@login_required
def trend_pdf(request: AuthenticatedHttpRequest, patient_id: int, instrument: str) -> HttpResponse:
    grant = access_measures_patient(request, patient_id)
    defn = trendable_definition(instrument)
    item, _ = chosen_item(defn, request.GET.get("item"))
    today = local_date(timezone.now(), grant.patient.time_zone)
    data = trends.load(grant.patient, defn, today, item=item)
    from tandem.measures.pdf import trend_pdf as render_pdf  # fpdf loads only for a PDF (0.7 s)

    body = render_pdf(data, trends.chart(data), today=today)
    audit_patient_event(
        request.user,
        Action.EXPORT,
        ENTITY,
        "",
        grant.patient,
        request=request,
        role=grant.role,
        instrument=defn.id,
        format="pdf",
        item=item.link_id if item else "",
    )
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{defn.id}-trend-{grant.patient.mrn}-{today.isoformat()}.pdf"'
    )
    return response


@login_required
def portal_trend(request: AuthenticatedHttpRequest, instrument: str) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    defn = trendable_definition(instrument)
    item, problem = chosen_item(defn, request.GET.get("item"))
    today = local_date(timezone.now(), grant.patient.time_zone)
    data = trends.load(grant.patient, defn, today, item=item)
    scored = data.scored
    context = {
        "patient": grant.patient,
        "definition": defn,
        "trend": data,
        "chart": trends.chart(data, patient_words=True, width=480),
        "item": item,
        "items": _items(defn, item),
        "problem": problem.replace("item: ", "") if problem else "",
        "first": scored[0] if scored else None,
        "latest": scored[-1] if scored else None,
        "lower_better": not defn.higher_is_better,
    }
    return render(request, "portal/measures/trend.html", context)
