"""Task: the safety workflow's risk-assessment tasks (tandem.safety AssessmentTask, `risk-<id>`:
document a suicide risk assessment for an open flag) and hand-offs between care-team members
(tandem.handoffs Handoff, `handoff-<id>`: requested → accepted when acknowledged → completed).
Both are the care team's: seen by the team and a clinician who broke the glass, as in the app —
not by consented outside clinicians, administrators or the patient."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import SAFETY, visible
from tandem.fhir.registry import Include, register
from tandem.fhir.resources.common import codesystem, instant, patient_params, ref, token_q
from tandem.fhir.search import NOTHING, DateParam, ReferenceParam, Token, TokenParam
from tandem.fhir.union import Source, UnionType
from tandem.handoffs.kinds import KINDS, labelled
from tandem.handoffs.models import Handoff, HandoffKind, HandoffStatus
from tandem.safety.models import AssessmentTask, TaskStatus

STATUS = "http://hl7.org/fhir/task-status"
SNOMED = "http://snomed.info/sct"
RISK_ASSESSMENT = ("225337009", "Suicide risk assessment (procedure)")
HANDOFF_STATUS = {
    HandoffStatus.OPEN: "requested",
    HandoffStatus.ACKNOWLEDGED: "accepted",
    HandoffStatus.DONE: "completed",
}
ASSESSMENT_STATUS = {TaskStatus.OPEN: "requested", TaskStatus.DONE: "completed"}


def _kind_system() -> str:
    return codesystem("handoff-kind")


def _status_q(mapping: dict[Any, str]) -> Any:
    def q(token: Token) -> Q:
        by_code: dict[str, Q] = {}
        for ours, theirs in mapping.items():
            by_code[theirs] = by_code.get(theirs, NOTHING) | Q(status=ours)
        return token_q(token, STATUS, by_code)

    return q


def _risk_code_q(token: Token) -> Q:
    return token_q(token, SNOMED, {RISK_ASSESSMENT[0]: Q()})


def _handoff_code_q(token: Token) -> Q:
    return token_q(token, _kind_system(), {k: Q(kind=k) for k in HandoffKind.values})


def _task(rid: str, status: str, patient_id: int, authored: Any, modified: Any) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "id": rid,
        "status": status,
        "intent": "order",
        "for": ref("Patient", patient_id),
        "authoredOn": instant(authored),
        "lastModified": instant(modified),
    }


class RiskAssessmentSource(Source):
    prefix = "risk-"
    need = SAFETY
    fields = {
        "patient": "patient_id",
        "subject": "patient_id",
        "authored-on": "created_at",
        "authored": "created_at",
    }
    filters = {"status": _status_q(ASSESSMENT_STATUS), "code": _risk_code_q}

    def base(self, caller: Caller) -> QuerySet[Any]:
        return AssessmentTask.objects.filter(visible(caller, SAFETY))

    def owns(self, row: Any) -> bool:
        return isinstance(row, AssessmentTask)

    def to_fhir(self, task: AssessmentTask) -> dict[str, Any]:
        resource = _task(
            f"{self.prefix}{task.pk}",
            ASSESSMENT_STATUS.get(TaskStatus(task.status), "requested"),
            task.patient_id,
            task.created_at,
            task.done_at or task.created_at,
        )
        resource |= {
            "priority": "urgent",
            "code": {
                "coding": [{"system": SNOMED, "code": RISK_ASSESSMENT[0], "display": RISK_ASSESSMENT[1]}],
                "text": "Suicide risk assessment",
            },
            "description": "Document a suicide risk assessment (C-SSRS) for the positive screen.",
            "focus": ref("Flag", task.flag_id),
            "owner": ref("CareTeam", task.patient_id, "Care team"),
        }
        if task.done_at:
            resource["executionPeriod"] = {"end": instant(task.done_at)}
        return resource


class HandoffSource(Source):
    prefix = "handoff-"
    need = SAFETY
    fields = {
        "patient": "patient_id",
        "subject": "patient_id",
        "owner": "recipient_id",
        "requester": "sender_id",
        "authored-on": "created_at",
        "authored": "created_at",
    }
    filters = {"status": _status_q(HANDOFF_STATUS), "code": _handoff_code_q}

    def base(self, caller: Caller) -> QuerySet[Any]:
        return Handoff.objects.filter(visible(caller, SAFETY))

    def load(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        return rows.select_related("sender", "recipient")

    def owns(self, row: Any) -> bool:
        return isinstance(row, Handoff)

    def to_fhir(self, handoff: Handoff) -> dict[str, Any]:
        moments = [m for m in (handoff.done_at, handoff.acknowledged_at) if m]
        resource = _task(
            f"{self.prefix}{handoff.pk}",
            HANDOFF_STATUS.get(HandoffStatus(handoff.status), "requested"),
            handoff.patient_id,
            handoff.created_at,
            max(moments) if moments else handoff.created_at,
        )
        spec = KINDS.get(handoff.kind)
        label = spec.label if spec else handoff.kind
        resource |= {
            "priority": "urgent" if handoff.urgent else "routine",
            "code": {
                "coding": [{"system": _kind_system(), "code": handoff.kind, "display": label}],
                "text": label,
            },
            "description": handoff.title or label,
        }
        if handoff.session_id:
            resource["focus"] = ref("Appointment", handoff.session_id)
        elif handoff.plan_id:
            resource["focus"] = ref("CarePlan", handoff.plan_id)
        resource |= {
            "requester": ref("Practitioner", handoff.sender_id, handoff.sender.display_name),
            "owner": ref("Practitioner", handoff.recipient_id, handoff.recipient.display_name),
            "restriction": {"period": {"end": instant(handoff.due_by)}},
        }
        if handoff.acknowledged_at or handoff.done_at:
            period = {"start": instant(handoff.acknowledged_at or handoff.created_at)}
            if handoff.done_at:
                period["end"] = instant(handoff.done_at)
            resource["executionPeriod"] = period
        details = labelled(spec, handoff.details) if spec else []
        if details:
            resource["input"] = [
                {"type": {"text": name}, "valueString": value} for name, value in details if value
            ]
        if handoff.done_note:
            resource["note"] = [{"text": handoff.done_note}]
        return resource


@register
class TaskType(UnionType):
    name = "Task"
    need = SAFETY
    patient_field = "patient"
    sources = (RiskAssessmentSource(), HandoffSource())
    columns = ("authored",)
    params = (
        *patient_params(),
        TokenParam("status", doc="requested, accepted or completed"),
        ReferenceParam("owner", target="Practitioner", doc="who is to do it (hand-offs)"),
        ReferenceParam("requester", target="Practitioner", doc="who asked (hand-offs)"),
        DateParam("authored-on", doc="when it was created"),
        TokenParam("code", doc=f"{SNOMED}|{RISK_ASSESSMENT[0]} or a hand-off kind"),
    )
    sorts = {"_id": "_id", "authored-on": "authored"}
    default_sort = ("-authored-on",)
    includes = {
        "Task:patient": Include("Patient", lambda t: [str(t.patient_id)]),
        "Task:owner": Include(
            "Practitioner", lambda t: [str(t.recipient_id)] if isinstance(t, Handoff) else []
        ),
        "Task:requester": Include(
            "Practitioner", lambda t: [str(t.sender_id)] if isinstance(t, Handoff) else []
        ),
    }
    documentation = "Risk-assessment tasks of the safety workflow (risk-<n>) and hand-offs (handoff-<n>)."
