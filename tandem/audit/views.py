from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tandem.accounts.access import access_admin_organisation
from tandem.audit.access import audit_events_for_organisation
from tandem.audit.actions import record_audit
from tandem.audit.forms import AuditSearchForm
from tandem.audit.models import Action
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate


@login_required
def org_log(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The org admin's search of their organisation's audit log (reading it is audited too)."""
    org = access_admin_organisation(request)
    form = AuditSearchForm(request.GET or None)
    events = audit_events_for_organisation(org.pk).select_related("actor", "patient")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            events = events.filter(actor_label__iexact=data["actor"].strip())
        if data["patient"]:
            events = events.filter(patient__mrn=data["patient"].strip(), patient__organisation=org)
        if data["action"]:
            events = events.filter(action=data["action"])
        tz = timezone.get_current_timezone()
        if data["start"]:
            events = events.filter(occurred_at__gte=datetime.combine(data["start"], time.min, tzinfo=tz))
        if data["end"]:
            events = events.filter(
                occurred_at__lt=datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=tz)
            )
    page = paginate(request, events, per_page=50)
    record_audit(
        actor=request.user,
        action=Action.READ,
        entity_type="AuditLog",
        role="org_admin",
        organisation=org.pk,
        request=request,
        extra={"filters": {k: v for k, v in request.GET.items() if k != "page"}},
    )
    return render(request, "audit/org_log.html", {"org": org, "form": form, "page": page})
