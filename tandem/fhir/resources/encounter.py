"""Encounter: each attended session (tandem.therapy Session, status attended) — finished, class
AMB in person or VR by video or telephone, its period, the clinician, and the Appointment it
fulfilled (the same id). Needs "therapy_summaries", as the sessions pages. No note of any kind
is part of it."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.appointment import clinician_ref, service_type, sessions
from tandem.fhir.resources.common import instant, patient_params, ref, token_q
from tandem.fhir.search import DateParam, ReferenceParam, Token, TokenParam
from tandem.patients.models import Category
from tandem.therapy.models import Session, SessionStatus, Setting

STATUS = "http://hl7.org/fhir/encounter-status"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
UCUM = "http://unitsofmeasure.org"
CLASSES = {"AMB": "ambulatory", "VR": "virtual"}
REMOTE = (Setting.TELEHEALTH, Setting.PHONE)


def _class_q(token: Token) -> Q:
    return token_q(token, ACT_CODE, {"AMB": ~Q(setting__in=REMOTE), "VR": Q(setting__in=REMOTE)})


def _status_q(token: Token) -> Q:
    return token_q(token, STATUS, {"finished": Q()})


@register
class EncounterType(ResourceType):
    name = "Encounter"
    need = Category.THERAPY_SUMMARIES
    patient_field = "patient_id"
    params = (
        *patient_params(),
        DateParam("date", "starts_at", doc="when it took place"),
        TokenParam("status", q=_status_q, doc="finished"),
        TokenParam("class", q=_class_q, doc=f"{ACT_CODE}|AMB or VR"),
        ReferenceParam("practitioner", "clinician_id", target="Practitioner", doc="the clinician"),
    )
    sorts = {"_id": "pk", "date": "starts_at"}
    default_sort = ("-starts_at",)
    includes = {
        "Encounter:patient": Include("Patient", lambda s: [str(s.patient_id)]),
        "Encounter:subject": Include("Patient", lambda s: [str(s.patient_id)]),
        "Encounter:practitioner": Include("Practitioner", lambda s: [str(s.clinician_id)]),
        "Encounter:appointment": Include("Appointment", lambda s: [str(s.pk)]),
    }
    documentation = "Attended sessions; the Appointment of the same id is the one they fulfilled."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return sessions(caller).filter(status=SessionStatus.ATTENDED)

    def to_fhir(self, session: Session) -> dict[str, Any]:
        code = "VR" if session.setting in REMOTE else "AMB"
        return {
            "resourceType": "Encounter",
            "id": str(session.pk),
            "status": "finished",
            "class": {"system": ACT_CODE, "code": code, "display": CLASSES[code]},
            "type": [service_type(session)],
            "subject": ref("Patient", session.patient_id),
            "participant": [
                {
                    "type": [
                        {
                            "coding": [
                                {"system": PARTICIPATION, "code": "PPRF", "display": "primary performer"}
                            ]
                        }
                    ],
                    "individual": clinician_ref(session),
                }
            ],
            "appointment": [ref("Appointment", session.pk)],
            "period": {"start": instant(session.starts_at), "end": instant(session.ends_at)},
            "length": {"value": session.duration_minutes, "unit": "min", "system": UCUM, "code": "min"},
        }
