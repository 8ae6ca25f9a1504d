"""Appointment: each therapy session or medication-management visit (tandem.therapy Session),
with its status (scheduled → booked, attended → fulfilled, cancelled and late-cancelled →
cancelled with the reason, no-show → noshow), start and end, and the patient and clinician as
participants. Needs "therapy_summaries", as the sessions pages (the care team, consented
clinicians, the patient's own record)."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import codesystem, instant, patient_params, ref, token_q
from tandem.fhir.search import DateParam, ReferenceParam, Token, TokenParam
from tandem.patients.models import Category
from tandem.therapy.models import Session, SessionKind, SessionStatus

STATUS = "http://hl7.org/fhir/appointmentstatus"
CANCELLATION = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
SERVICE = codesystem("session-kind")
APPOINTMENT_STATUS = {
    SessionStatus.SCHEDULED: "booked",
    SessionStatus.ATTENDED: "fulfilled",
    SessionStatus.CANCELLED: "cancelled",
    SessionStatus.LATE_CANCELLED: "cancelled",
    SessionStatus.NO_SHOW: "noshow",
}


def sessions(caller: Caller) -> QuerySet[Session]:
    """The sessions the caller may see, with what the mappers read."""
    return (
        Session.objects.filter(visible(caller, Category.THERAPY_SUMMARIES))
        .select_related("clinician")
        .annotate(portal_user_id=F("patient__portal_user_id"))
    )


def service_type(session: Session) -> dict[str, Any]:
    kind = SessionKind(session.kind) if session.kind in SessionKind.values else None
    label = kind.label if kind else session.kind
    return {"coding": [{"system": SERVICE, "code": session.kind, "display": label}], "text": label}


def clinician_ref(session: Session) -> dict[str, str]:
    return ref("Practitioner", session.clinician_id, session.clinician.display_name)


def _status_q(token: Token) -> Q:
    by_code: dict[str, Q] = {}
    for ours, theirs in APPOINTMENT_STATUS.items():
        by_code[theirs] = by_code.get(theirs, Q(pk__in=[])) | Q(status=ours)
    return token_q(token, STATUS, by_code)


def _service_q(token: Token) -> Q:
    return token_q(token, SERVICE, {k: Q(kind=k) for k in SessionKind.values})


def _cancellation(session: Session) -> dict[str, Any]:
    by_patient = session.status_changed_by_id is not None and (
        session.status_changed_by_id == getattr(session, "portal_user_id", None)
    )
    code, display = ("pat", "Patient") if by_patient else ("prov", "Provider")
    late = "Late cancellation" if session.status == SessionStatus.LATE_CANCELLED else "Cancelled"
    text = f"{late}: {session.status_reason}" if session.status_reason else late
    return {"coding": [{"system": CANCELLATION, "code": code, "display": display}], "text": text}


@register
class AppointmentType(ResourceType):
    name = "Appointment"
    need = Category.THERAPY_SUMMARIES
    patient_field = "patient_id"
    params = (
        *patient_params(),
        DateParam("date", "starts_at", doc="when it starts"),
        TokenParam("status", q=_status_q, doc="booked, fulfilled, cancelled or noshow"),
        ReferenceParam("practitioner", "clinician_id", target="Practitioner", doc="the clinician"),
        TokenParam("service-type", q=_service_q, doc=f"{SERVICE}|therapy or medication"),
    )
    sorts = {"_id": "pk", "date": "starts_at"}
    default_sort = ("-starts_at",)
    includes = {
        "Appointment:patient": Include("Patient", lambda s: [str(s.patient_id)]),
        "Appointment:practitioner": Include("Practitioner", lambda s: [str(s.clinician_id)]),
    }
    documentation = "Therapy sessions and medication-management visits."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return sessions(caller)

    def to_fhir(self, session: Session) -> dict[str, Any]:
        status = APPOINTMENT_STATUS.get(SessionStatus(session.status), "booked")
        resource: dict[str, Any] = {
            "resourceType": "Appointment",
            "id": str(session.pk),
            "status": status,
        }
        if status == "cancelled":
            resource["cancelationReason"] = _cancellation(session)
        resource |= {
            "serviceType": [service_type(session)],
            "description": SessionKind(session.kind).label if session.kind in SessionKind.values else "",
            "start": instant(session.starts_at),
            "end": instant(session.ends_at),
            "minutesDuration": session.duration_minutes,
            "created": instant(session.created_at),
            "participant": [
                {"actor": ref("Patient", session.patient_id), "required": "required", "status": "accepted"},
                {"actor": clinician_ref(session), "required": "required", "status": "accepted"},
            ],
        }
        if not resource["description"]:
            del resource["description"]
        return resource
