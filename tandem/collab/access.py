"""Who sees which alerts: the patient's care team (and a clinician who broke the glass).

A clinician's own alerts (the inbox, the digest, the worklist) are those of patients on whose
care team they are today, routed to a role they hold on that team. The routing is decided in SQL
(AlertRoute joined to CareTeamMember), before any LIMIT, so no routed alert is ever hidden by
another clinician's alerts filling a page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Case, Exists, IntegerField, OuterRef, QuerySet, Value, When
from django.http import Http404, HttpRequest
from django.utils import timezone

from tandem.audit.access import record_denied
from tandem.collab.models import SEVERITY_RANK, Alert, AlertRoute, AlertStatus
from tandem.patients.access import PatientGrant, access_patient, audit_patient_read
from tandem.patients.models import CareTeamMember, active_on

UNRESOLVED = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def access_alerts_patient(request: HttpRequest, patient_id: Any) -> PatientGrant:
    grant = access_patient(request, patient_id, entity="Alert", audit_read=False)
    if grant.basis not in ("care_team", "break_glass"):
        record_denied(request, "Alert", patient_id, patient=grant.patient)
        raise Http404
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


def urgency_rank() -> Case:
    return Case(
        *[When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()],
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )


def by_urgency(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    return alerts.annotate(rank=urgency_rank()).order_by("rank", "-created_at")


def by_inbox_order(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """Urgent, high, routine; within each, unacknowledged before acknowledged (before resolved),
    oldest first."""
    state = Case(
        When(status=AlertStatus.OPEN, then=Value(0)),
        When(status=AlertStatus.ACKNOWLEDGED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return alerts.annotate(rank=urgency_rank(), state_rank=state).order_by(
        "rank", "state_rank", "created_at", "pk"
    )


def routed_to(user_id: int, day: date | None = None) -> QuerySet[Alert]:
    """Every alert (any status) of the user's care-team patients that is routed to a role the
    user holds on that patient's team on `day` (today): one SQL query, no Python filtering."""
    day = day or timezone.localdate()
    team = CareTeamMember.objects.filter(active_on(day), user_id=user_id)
    holds_role = team.filter(patient_id=OuterRef(OuterRef("patient_id")), role=OuterRef("role"))
    routed = AlertRoute.objects.filter(alert_id=OuterRef("pk")).filter(Exists(holds_role))
    return Alert.objects.filter(patient_id__in=team.values("patient_id")).filter(Exists(routed))


def open_alerts_for(user: Any, limit: int = 200) -> list[Alert]:
    """Unresolved alerts routed to the user (see `routed_to`), in inbox order. One query."""
    alerts = routed_to(int(user.pk or 0)).filter(status__in=UNRESOLVED).select_related("patient")
    return list(by_inbox_order(alerts)[:limit])
