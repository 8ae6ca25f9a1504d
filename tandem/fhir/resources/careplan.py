"""CarePlan, Goal and Condition: the treatment plan as tandem.plans.fhir maps it (its current
revision). Need the "plan" category.

Goals and problems live inside a plan revision (Goal/<plan>-<key>, Condition/<plan>-<key>), so
those two types are built in memory from one patient's plans: a search names the patient
(`patient`/`subject`) or the ids (`_id`), as US Core asks of Condition searches; without either
it is refused with 400.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.errors import bad_request
from tandem.fhir.policy import parse_patient_id, visible
from tandem.fhir.registry import Include, MemoryType, ResourceType, register
from tandem.fhir.resources.common import patient_params, token_q
from tandem.fhir.search import Query, ReferenceParam, Token, TokenParam
from tandem.patients.models import Category
from tandem.plans import fhir as plan_fhir
from tandem.plans.models import PlanStatus, TreatmentPlan

STATUS = "http://hl7.org/fhir/request-status"
CATEGORY = plan_fhir.US_CORE_CAREPLAN_CATEGORY


def _plans(caller: Caller) -> QuerySet[TreatmentPlan]:
    return TreatmentPlan.objects.filter(visible(caller, Category.PLAN), current__isnull=False).select_related(
        "current"
    )


def _status_q(token: Token) -> Q:
    by_code = {fhir: Q(status=ours) for ours, fhir in plan_fhir.CAREPLAN_STATUS.items()}
    return token_q(token, STATUS, by_code)


def _category_q(token: Token) -> Q:
    return token_q(token, CATEGORY, {"assess-plan": Q()})


@register
class CarePlanType(ResourceType):
    name = "CarePlan"
    need = Category.PLAN
    patient_field = "patient_id"
    params = (
        *patient_params(),
        TokenParam("status", q=_status_q),
        TokenParam("category", q=_category_q, doc=f"{CATEGORY}|assess-plan"),
    )
    sorts = {"_id": "pk", "_lastUpdated": "current__created_at"}
    default_sort = ("-current__created_at",)
    includes = {
        "CarePlan:subject": Include("Patient", lambda plan: [str(plan.patient_id)]),
        "CarePlan:patient": Include("Patient", lambda plan: [str(plan.patient_id)]),
    }
    last_updated = "current__created_at"

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return _plans(caller)

    def to_fhir(self, plan: TreatmentPlan) -> dict[str, Any]:
        assert plan.current is not None
        return plan_fhir.careplan(plan, plan.current)


class _PlanPartType(MemoryType):
    """Goals or problems of the plans of the patients a search names."""

    need = Category.PLAN
    build: Any = None  # plans.fhir.goals or plans.fhir.conditions

    def candidates(self, caller: Caller, query: Query) -> list[tuple[int | None, dict[str, Any]]]:
        patients: set[int] = set()
        plans: set[int] = set()
        for values in query.values("patient") + query.values("subject"):
            patients |= {pid for pid in (parse_patient_id(v) for v in values if v) if pid is not None}
        for values in query.values("_id"):
            for token in values:
                head = str(token.code).split("-", 1)[0]
                if head.isdigit() and len(head) < 19:
                    plans.add(int(head))
        if not query.values("patient") and not query.values("subject") and not query.values("_id"):
            raise bad_request(
                f"A {self.name} search names the patient (patient=<id>) or _id.", expression="patient"
            )
        rows = (
            _plans(caller).filter(Q(patient_id__in=patients) | Q(pk__in=plans)).order_by("-created_at", "-pk")
        )
        found: list[tuple[int | None, dict[str, Any]]] = []
        for plan in rows:
            assert plan.current is not None
            found += [(plan.patient_id, r) for r in type(self).build(plan, plan.current)]
        return found


def _subject(resource: dict[str, Any]) -> str | None:
    return (resource.get("subject") or {}).get("reference")


def _concepts_match(key: str) -> Any:
    def match(resource: dict[str, Any], token: Token) -> bool:
        value = resource.get(key)
        concepts = value if isinstance(value, list) else [value]
        return any(token.matches_concept(c) for c in concepts if c)

    return match


def _plan_parts_params() -> tuple[ReferenceParam, ReferenceParam]:
    return (ReferenceParam("patient", get=_subject), ReferenceParam("subject", get=_subject))


@register
class GoalType(_PlanPartType):
    name = "Goal"
    build = staticmethod(plan_fhir.goals)
    params = (
        *_plan_parts_params(),
        TokenParam("lifecycle-status", match=lambda r, t: t.matches(t.system, r.get("lifecycleStatus"))),
        TokenParam("category", match=_concepts_match("category")),
    )
    sorts = {"_id": "id"}
    includes = {"Goal:patient": Include("Patient", lambda row: [str(row[0])])}


@register
class ConditionType(_PlanPartType):
    name = "Condition"
    build = staticmethod(plan_fhir.conditions)
    params = (
        *_plan_parts_params(),
        TokenParam("category", match=_concepts_match("category")),
        TokenParam(
            "code", match=_concepts_match("code"), doc="ICD-10-CM: http://hl7.org/fhir/sid/icd-10-cm|F32.1"
        ),
        TokenParam("clinical-status", match=_concepts_match("clinicalStatus")),
    )
    sorts = {"_id": "id"}
    includes = {"Condition:patient": Include("Patient", lambda row: [str(row[0])])}


__all__ = ["CarePlanType", "ConditionType", "GoalType", "PlanStatus"]
