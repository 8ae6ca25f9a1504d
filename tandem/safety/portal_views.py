"""The patient's "Help now" page while the safety workflow is open: crisis resources first,
then their own safety plan."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from tandem.lib.http import AuthenticatedHttpRequest
from tandem.patients.access import access_own_patient
from tandem.safety.access import ENTITY
from tandem.safety.screen import crisis_context


@login_required
def now(request: AuthenticatedHttpRequest) -> HttpResponse:
    grant = access_own_patient(request, entity=ENTITY)
    context = {"patient": grant.patient, **crisis_context(request, grant.patient)}
    return render(request, "portal/safety_workflow/now.html", context)
