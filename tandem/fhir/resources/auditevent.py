"""AuditEvent: the audit log — for a patient's token, who opened their record (what the portal's
access log shows); for an org admin's token, their organisation's log (what the audit search
shows). Nobody else reads it. Reading it is itself audited, once per request, as the UI does."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from tandem.accounts.access import admin_org_ids
from tandem.audit.access import audit_events_for_organisation, audit_events_for_patient
from tandem.audit.models import Action, AuditEvent, Outcome
from tandem.fhir.audit import record_log_read
from tandem.fhir.auth import Caller
from tandem.fhir.registry import ResourceType, register
from tandem.fhir.resources.common import codesystem, instant, patient_params, ref
from tandem.fhir.search import DateParam, Token, TokenParam

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ACTIONS: dict[str, str] = {
    Action.CREATE: "C",
    Action.READ: "R",
    Action.EXPORT: "R",
    Action.UPDATE: "U",
    Action.DELETE: "D",
}
OUTCOMES: dict[str, str] = {Outcome.SUCCESS: "0", Outcome.DENIED: "4", Outcome.FAILURE: "8"}
AUTH_ACTIONS = {Action.LOGIN, Action.LOGOUT, Action.LOGIN_FAILED}


def _action_q(token: Token) -> Q:
    if token.system not in (None, "http://hl7.org/fhir/audit-event-action"):
        return Q(pk__in=[])
    ours = [a for a, code in ACTIONS.items() if code == token.code]
    if token.code == "E":
        return ~Q(action__in=list(ACTIONS))
    return Q(action__in=ours) if ours else Q(pk__in=[])


def _outcome_q(token: Token) -> Q:
    ours = [o for o, code in OUTCOMES.items() if code == token.code]
    return Q(outcome__in=ours) if ours else Q(pk__in=[])


def _admin_orgs(caller: Caller) -> set[int]:
    return set() if caller.patient_context_only else admin_org_ids(caller.user)


@register
class AuditEventType(ResourceType):
    name = "AuditEvent"
    params = (
        *patient_params(),
        DateParam("date", "occurred_at"),
        TokenParam("action", q=_action_q, doc="C, R, U, D or E"),
        TokenParam("outcome", q=_outcome_q, doc="0 success, 4 denied, 8 failure"),
    )
    sorts = {"_id": "pk", "date": "occurred_at"}
    default_sort = ("-occurred_at", "-pk")

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        found = AuditEvent.objects.none()
        if caller.own_patient_id is not None:
            found = found | audit_events_for_patient(caller.own_patient_id)
        for org in sorted(_admin_orgs(caller)):
            found = found | audit_events_for_organisation(org)
        return found.select_related("actor")

    def audit(self, request: HttpRequest, caller: Caller, rows: list[Any], interaction: str) -> None:
        if caller.own_patient is not None:
            record_log_read(
                request,
                caller,
                patient_id=caller.own_patient.pk,
                organisation_id=caller.own_patient.organisation_id,
            )
        for org in sorted(_admin_orgs(caller)):
            record_log_read(request, caller, patient_id=None, organisation_id=org)

    def to_fhir(self, e: AuditEvent) -> dict[str, Any]:
        if e.action in AUTH_ACTIONS:
            kind = {"system": DCM, "code": "110114", "display": "User Authentication"}
        elif e.patient_id:
            kind = {"system": DCM, "code": "110110", "display": "Patient Record"}
        else:
            kind = {"system": DCM, "code": "110100", "display": "Application Activity"}
        who: dict[str, Any] = {"display": (e.actor.display_name if e.actor else e.actor_label) or "Tandem"}
        agent: dict[str, Any] = {"who": who, "requestor": e.actor_id is not None}
        if e.actor_role:
            agent["role"] = [{"text": e.actor_role}]
        if e.ip:
            agent["network"] = {"address": e.ip, "type": "2"}
        entities: list[dict[str, Any]] = []
        if e.patient_id:
            entities.append(
                {
                    "what": ref("Patient", e.patient_id),
                    "role": {
                        "system": "http://terminology.hl7.org/CodeSystem/object-role",
                        "code": "1",
                        "display": "Patient",
                    },
                }
            )
        if e.entity_type:
            entities.append({"what": {"display": f"{e.entity_type} {e.entity_id}".strip()}})
        resource: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": str(e.pk),
            "type": kind,
            "subtype": [{"system": codesystem("audit-action"), "code": e.action}],
            "action": ACTIONS.get(e.action, "E"),
            "recorded": instant(e.occurred_at),
            "outcome": OUTCOMES.get(e.outcome, "8"),
            "agent": [agent],
            "source": {"observer": {"display": "Tandem"}},
        }
        if e.outcome != Outcome.SUCCESS:
            resource["outcomeDesc"] = e.get_outcome_display()
        if entities:
            resource["entity"] = entities
        return resource
