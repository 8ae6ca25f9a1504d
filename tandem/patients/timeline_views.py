"""The patient timeline page: what happened to the patient's care, newest first."""

from __future__ import annotations

import re
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode

from tandem.lib import timeline
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients import access
from tandem.patients.views import patient_tabs

PAGE_SIZE = 30


def parse_cursor(raw: str | None) -> datetime | None:
    """An aware time from ?before=; anything else (naive, malformed, impossible) is ignored."""
    if not raw or len(raw) > 40:
        return None
    # An offset's "+" that was not URL-encoded arrives as a space.
    raw = re.sub(r" (\d{2}(:?\d{2})?)$", r"+\1", raw.strip())
    try:
        moment = parse_datetime(raw)
    except ValueError:
        return None
    if moment is None or timezone.is_naive(moment):
        return None
    return moment


@login_required
def patient_timeline(request: AuthenticatedHttpRequest, patient_id: int) -> HttpResponse:
    grant = access.access_patient(request, patient_id, need=access.RECORD, entity="Timeline")
    offered = timeline.kinds_for(grant)
    chosen = [k for k in dict.fromkeys(request.GET.getlist("kind")) if k in offered]
    before = parse_cursor(request.GET.get("before"))
    page = timeline.collect(grant.patient, grant, chosen or None, before, PAGE_SIZE)
    older = ""
    if page.next_before is not None:
        older = "?" + urlencode([*[("kind", k) for k in chosen], ("before", page.next_before.isoformat())])
    return render(
        request,
        "patients/timeline.html",
        {
            "grant": grant,
            "patient": grant.patient,
            "tabs": patient_tabs(grant),
            "tab": "timeline",
            "age": grant.patient.age_on(timezone.localdate()),
            "kinds": [{"kind": k, "label": label, "checked": k in chosen} for k, label in offered.items()],
            "events": [{"event": e, "label": offered.get(e.kind, e.kind)} for e in page.events],
            "before": before,
            "older": older,
        },
    )
