"""The caseload registry (page and CSV) and the organisation dashboard."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tandem.accounts.access import primary_role
from tandem.accounts.models import Role
from tandem.audit.actions import record_audit
from tandem.audit.models import Action
from tandem.caretime.csvout import csv_response
from tandem.lib.http import AuthenticatedHttpRequest
from tandem.lib.pagination import paginate
from tandem.registry import access, caseload, filters
from tandem.registry import dashboard as dash

PER_PAGE = 50
CSV_HEADER = [
    "patient", "mrn", "weeks in treatment",
    "PHQ-9 baseline", "PHQ-9 last", "PHQ-9 % change", "PHQ-9 trend",
    "GAD-7 baseline", "GAD-7 last", "GAD-7 % change", "GAD-7 trend",
    "state", "last contact", "next contact due", "dose adherence % (28 days)", "PDC % (lowest class)",
    "attendance %", "open alerts", "safety flag", "treat-to-target", "care team",
]  # fmt: skip


def _audit(request: AuthenticatedHttpRequest, action: str, entity: str, ids: list[int], **extra: Any) -> None:
    record_audit(
        actor=request.user,
        action=action,
        entity_type=entity,
        role=primary_role(request.user),
        request=request,
        extra={"patient_ids": ids, **extra},
    )


def _caseload(request: AuthenticatedHttpRequest) -> tuple[list[caseload.Row], filters.Query, dict[int, str]]:
    patients = list(access.access_caseload(request).order_by("family_name", "given_name", "id"))
    rows = caseload.build_rows(patients, timezone.now())
    clinicians: dict[int, str] = {}
    members: dict[int, set[int]] = {}
    for row in rows:
        members[row.patient.pk] = {uid for uid, _, _ in row.team}
        for uid, role, name in row.team:
            clinicians.setdefault(uid, f"{name} ({Role(role).label})")
    query = filters.parse(request.GET, clinicians)
    return filters.apply(rows, query, members), query, clinicians


@login_required
@require_GET
def caseload_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows, query, clinicians = _caseload(request)
    page = paginate(request, rows, per_page=PER_PAGE)
    _audit(request, Action.READ, "Registry", [r.patient.pk for r in page.object_list], **query.as_params())
    context = {
        "page": page,
        "count": len(rows),
        "query": query,
        "filters": [(k, label) for k, (label, _) in filters.FILTERS.items()],
        "sorts": [(k, label) for k, (label, _) in filters.SORTS.items()],
        "clinicians": sorted(clinicians.items(), key=lambda c: c[1]),
        "params": query.as_params(),
        "definitions": caseload.DEFINITIONS,
    }
    return render(request, "registry/caseload.html", context, status=400 if query.errors else 200)


@login_required
@require_GET
def caseload_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    rows, query, _ = _caseload(request)
    if query.errors:
        text = "; ".join(f"{name}: {message}" for name, message in query.errors.items())
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    _audit(request, Action.EXPORT, "Registry", [r.patient.pk for r in rows], **query.as_params())
    lines = [list(caseload.as_dict(r).values()) for r in rows]
    return csv_response(f"caseload-{timezone.localdate():%Y-%m-%d}.csv", CSV_HEADER, lines)


def _dashboard(request: AuthenticatedHttpRequest, org: Any, scope: str) -> HttpResponse:
    figures = dash.figures(org.pk, timezone.localdate()) if org is not None else None
    record_audit(
        actor=request.user,
        action=Action.READ,
        entity_type="RegistryDashboard",
        role=primary_role(request.user),
        organisation=org.pk if org is not None else None,
        request=request,
    )
    context = {"organisation": org, "figures": figures, "scope": scope, "follow_up_days": dash.FOLLOW_UP_DAYS}
    return render(request, "registry/dashboard.html", context)


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _dashboard(request, access.dashboard_organisation(request), "clinical")


@login_required
@require_GET
def org_dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _dashboard(request, access.access_org_dashboard(request), "admin")
