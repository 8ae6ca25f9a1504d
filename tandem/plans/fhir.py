"""The treatment plan as FHIR R4 resources: CarePlan, Goal, Condition and CareTeam.

Pure mapping of one plan revision (no queries), except `careteam()`, which reads the team with
one query. The FHIR facade serves these; ids are stable across revisions:
CarePlan/{plan}, Goal/{plan}-{goal key}, Condition/{plan}-{problem key}, CareTeam/{patient}.
Validated with fhir.resources (R4B, structurally the same for these resources) in the tests.

Codings:
- problems: ICD-10-CM (http://hl7.org/fhir/sid/icd-10-cm); the clinician's words go in `text`,
  never as the official `display`.
- goal measures: the LOINC code of the instrument's total score (schema.GOAL_MEASURES); targets
  are a Quantity with its comparator and the UCUM unit {score}.
- therapy: SNOMED CT where the modality has a known code (schema.MODALITIES: CBT 304891004, IPT
  443730003), otherwise text only.
- monitoring: the LOINC panel of the instrument where one is known (below), otherwise text.
- Two things have no standard code, so they use Tandem's own code systems, named under the
  deployment's address (SITE_URL/fhir/CodeSystem/…) where the FHIR facade can serve them:
  `goal-source` tells a goal in the patient's own words (`patient-own-words`, also marked by
  Goal.expressedBy = the Patient) from a clinical target (`clinical-target`); `care-team-role`
  holds the team roles (therapist, prescriber, care_manager, psychiatric_consultant, patient).
  SNOMED occupation codes do not fit: a "prescriber" may be a psychiatrist, a primary-care
  physician or a nurse practitioner, and "care manager" has no one concept.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from django.conf import settings
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.patients.models import CareTeamMember, Patient
from tandem.plans.models import PlanRevision, PlanStatus, TreatmentPlan
from tandem.plans.schema import GOAL_MEASURES, INSTRUMENTS, MODALITIES

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
US_CORE_CAREPLAN_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"

# LOINC panels of the instruments the plan can schedule. Source: docs/
# clinical-facts.md §A0 (confirmed there); instruments without a confirmed panel have none here.
INSTRUMENT_PANELS = {
    "phq9": "44249-1",
    "phq2": "55757-9",
    "gad7": "69737-5",
    "cssrs": "93373-9",
    "auditc": "72109-2",
}

CAREPLAN_STATUS = {
    PlanStatus.DRAFT: "draft",
    PlanStatus.ACTIVE: "active",
    PlanStatus.COMPLETED: "completed",
    PlanStatus.DISCONTINUED: "revoked",
}
ACTIVITY_STATUS = {
    PlanStatus.DRAFT: "not-started",
    PlanStatus.ACTIVE: "in-progress",
    PlanStatus.COMPLETED: "completed",
    PlanStatus.DISCONTINUED: "stopped",
}
GOAL_STATUS = {
    PlanStatus.DRAFT: "proposed",
    PlanStatus.ACTIVE: "active",
    PlanStatus.COMPLETED: "completed",
    PlanStatus.DISCONTINUED: "cancelled",
}
ROLE_LABELS = {**{r.value: r.label for r in Role if r != Role.ORG_ADMIN}, "patient": "Patient"}


def codesystem(name: str) -> str:
    return f"{settings.SITE_URL}/fhir/CodeSystem/{name}"


def _instant(moment: datetime) -> str:
    return moment.isoformat()


def _ref(resource: str, id_: object, display: str = "") -> dict[str, str]:
    return {"reference": f"{resource}/{id_}", **({"display": display} if display else {})}


def _concept(system: str | None, code: str | None, text: str) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    if system and code:
        concept["coding"] = [{"system": system, "code": code}]
    return concept


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _narrative(*lines: str) -> dict[str, str]:
    body = "".join(f"<p>{escape(line)}</p>" for line in lines if line)
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def goal_id(plan: TreatmentPlan, key: str) -> str:
    return f"{plan.pk}-{key}"


def condition_id(plan: TreatmentPlan, key: str) -> str:
    return f"{plan.pk}-{key}"


def careplan(plan: TreatmentPlan, revision: PlanRevision) -> dict[str, Any]:
    content = revision.content
    status = PlanStatus(plan.status)
    activity_status = ACTIVITY_STATUS[status]
    activities: list[dict[str, Any]] = []
    for therapy in content.get("therapy", []):
        spec = MODALITIES[therapy["modality"]]
        label = therapy.get("modality_other") or spec["label"]
        words = [therapy.get("frequency", "")]
        if therapy.get("planned_sessions"):
            words.append(f"{therapy['planned_sessions']} sessions planned")
        if therapy.get("focus"):
            words.append(f"focus: {therapy['focus']}")
        detail: dict[str, Any] = {
            "code": _concept(SNOMED if spec["snomed"] else None, spec["snomed"], label),
            "status": activity_status,
        }
        if therapy.get("frequency"):
            detail["scheduledString"] = therapy["frequency"]
        if any(words):
            detail["description"] = "; ".join(w for w in words if w)
        activities.append({"detail": detail})
    medication = content.get("medication") or {}
    if medication.get("approach"):
        # Regimens become activity references once the medications app serves MedicationRequest.
        activities.append(
            {
                "detail": {
                    "kind": "MedicationRequest",
                    "code": {"text": "Medication"},
                    "status": activity_status,
                    "description": medication["approach"],
                }
            }
        )
    for item in content.get("monitoring", []):
        name = INSTRUMENTS[item["instrument"]]
        panel = INSTRUMENT_PANELS.get(item["instrument"])
        activities.append(
            {
                "detail": {
                    "code": _concept(LOINC if panel else None, panel, name),
                    "status": activity_status,
                    "scheduledTiming": {
                        "repeat": {"frequency": 1, "period": item["every_days"], "periodUnit": "d"}
                    },
                    "description": f"{name} every {item['every_days']} days",
                }
            }
        )
    for item in content.get("responsibilities", []):
        activities.append(
            {
                "detail": {
                    "status": activity_status,
                    "description": item["what"],
                    "performer": [{"display": item["who"]}],
                }
            }
        )
    goals = content.get("goals", [])
    problems = content.get("problems", [])
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": str(plan.pk),
        "meta": {"versionId": str(revision.number), "lastUpdated": _instant(revision.created_at)},
        "text": _narrative(
            f"{plan.title} ({plan.get_status_display().lower()}), revision {revision.number}",
            *(f"Problem: {p['text']}" for p in problems),
            *(f"Goal: {g['text']}" for g in goals),
        ),
        "status": CAREPLAN_STATUS[status],
        "intent": "plan",
        "category": [
            {"coding": [{"system": US_CORE_CAREPLAN_CATEGORY, "code": "assess-plan"}]},
            {"text": "Shared treatment plan: psychotherapy and medication"},
        ],
        "title": plan.title,
        "subject": _ref("Patient", plan.patient_id),
        "created": _instant(plan.created_at),
        "careTeam": [_ref("CareTeam", plan.patient_id)],
    }
    if plan.activated_at or plan.ended_at:
        resource["period"] = {
            **({"start": _instant(plan.activated_at)} if plan.activated_at else {}),
            **({"end": _instant(plan.ended_at)} if plan.ended_at else {}),
        }
    if problems:
        resource["addresses"] = [_ref("Condition", condition_id(plan, p["key"])) for p in problems]
    if goals:
        resource["goal"] = [_ref("Goal", goal_id(plan, g["key"])) for g in goals]
    if activities:
        resource["activity"] = activities
    if content.get("communication"):
        resource["note"] = [{"text": item["text"]} for item in content["communication"]]
    return resource


def goals(plan: TreatmentPlan, revision: PlanRevision) -> list[dict[str, Any]]:
    status = GOAL_STATUS[PlanStatus(plan.status)]
    resources = []
    for goal in revision.content.get("goals", []):
        own_words = goal.get("kind") == "patient"
        source = "patient-own-words" if own_words else "clinical-target"
        display = "In the patient's own words" if own_words else "Clinical target"
        resource: dict[str, Any] = {
            "resourceType": "Goal",
            "id": goal_id(plan, goal["key"]),
            "lifecycleStatus": status,
            "category": [
                {"coding": [{"system": codesystem("goal-source"), "code": source, "display": display}]}
            ],
            "description": {"text": goal["text"]},
            "subject": _ref("Patient", plan.patient_id),
        }
        if own_words:
            resource["expressedBy"] = _ref("Patient", plan.patient_id)
        target: dict[str, Any] = {}
        if goal.get("measure"):
            spec = GOAL_MEASURES[goal["measure"]]
            target["measure"] = _concept(
                LOINC if spec["loinc"] else None, spec["loinc"], f"{spec['label']} total score"
            )
            target["detailQuantity"] = {
                "value": _number(goal["target"]),
                "comparator": goal["comparator"],
                "unit": "{score}",
                "system": UCUM,
                "code": "{score}",
            }
        if goal.get("target_date"):
            target["dueDate"] = goal["target_date"]
        if target:
            resource["target"] = [target]
        resources.append(resource)
    return resources


def conditions(plan: TreatmentPlan, revision: PlanRevision) -> list[dict[str, Any]]:
    """The problems the plan addresses. Active while the plan is open; once it is closed the plan
    no longer says whether a problem persists, so clinicalStatus is left out."""
    resources = []
    for problem in revision.content.get("problems", []):
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": condition_id(plan, problem["key"]),
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
            "code": _concept(ICD10CM if problem.get("code") else None, problem.get("code"), problem["text"]),
            "subject": _ref("Patient", plan.patient_id),
        }
        if plan.is_open:
            resource["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]}
        resources.append(resource)
    return resources


def _role(code: str) -> list[dict[str, Any]]:
    label = ROLE_LABELS.get(code, code)
    return [
        {"coding": [{"system": codesystem("care-team-role"), "code": code, "display": label}], "text": label}
    ]


def careteam(patient: Patient) -> dict[str, Any]:
    """The patient's care team, past members with their period, the patient first. One query."""
    members = list(
        CareTeamMember.objects.filter(patient=patient)
        .select_related("user", "organisation")
        .order_by("start", "pk")
    )
    participants: list[dict[str, Any]] = [{"role": _role("patient"), "member": _ref("Patient", patient.pk)}]
    for m in members:
        period = {"start": m.start.isoformat(), **({"end": m.end.isoformat()} if m.end else {})}
        participants.append(
            {
                "role": _role(m.role),
                "member": _ref("Practitioner", m.user_id, m.user.display_name),
                "onBehalfOf": _ref("Organization", m.organisation_id, m.organisation.name),
                "period": period,
            }
        )
    today = timezone.localdate()
    return {
        "resourceType": "CareTeam",
        "id": str(patient.pk),
        "status": "active" if any(m.is_active_on(today) for m in members) else "inactive",
        "name": "Care team",
        "subject": _ref("Patient", patient.pk),
        "participant": participants,
        "managingOrganization": [_ref("Organization", patient.organisation_id, patient.organisation.name)],
    }
