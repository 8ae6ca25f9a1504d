"""Who sees which alerts: the patient's care team (and a clinician who broke the glass)."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest
from django.utils import timezone

from tandem.audit.access import record_denied
from tandem.collab.models import SEVERITY_RANK, Alert, AlertStatus
from tandem.patients.access import PatientGrant, access_patient
from tandem.patients.models import CareTeamMember, active_on


def access_alerts_patient(request: HttpRequest, patient_id: Any) -> PatientGrant:
    grant = access_patient(request, patient_id, entity="Alert", audit_read=False)
    if grant.basis not in ("care_team", "break_glass"):
        record_denied(request, "Alert", patient_id, patient=grant.patient)
        raise Http404
    from tandem.patients.access import audit_patient_read

    audit_patient_read(request, grant, entity="Alert")
    return grant


def access_alert(grant: PatientGrant, request: HttpRequest, alert_id: Any) -> Alert:
    alert = None
    if str(alert_id).isdigit() and len(str(alert_id)) < 19:
        alert = (
            Alert.objects.filter(id=int(alert_id), patient=grant.patient).select_related("patient").first()
        )
    if alert is None:
        record_denied(request, "Alert", alert_id, patient=grant.patient)
        raise Http404
    return alert


def by_urgency(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    rank = Case(
        *[When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()], output_field=IntegerField()
    )
    return alerts.annotate(rank=rank).order_by("rank", "-created_at")


def open_alerts_for(user: Any, limit: int = 200) -> list[Alert]:
    """Unresolved alerts of the user's care-team patients routed to a role the user holds on
    that patient's team, most urgent first. Two queries."""
    roles: dict[int, set[str]] = {}
    for patient_id, role in CareTeamMember.objects.filter(
        active_on(timezone.localdate()), user=user
    ).values_list("patient_id", "role"):
        roles.setdefault(patient_id, set()).add(role)
    if not roles:
        return []
    team = CareTeamMember.objects.filter(active_on(timezone.localdate()), user=user).values("patient_id")
    alerts = by_urgency(
        Alert.objects.filter(patient_id__in=team)
        .exclude(status=AlertStatus.RESOLVED)
        .select_related("patient")
    )[:limit]
    return [a for a in alerts if not a.route_to or roles.get(a.patient_id, set()) & set(a.route_to)]
