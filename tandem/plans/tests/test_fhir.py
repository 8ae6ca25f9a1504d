from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.careteam import CareTeam
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.goal import Goal

from tandem.accounts.models import Role
from tandem.patients.models import CareTeamMember
from tandem.plans import fhir
from tandem.plans.actions import do_create_plan, do_set_plan_status
from tandem.plans.models import PlanRevision, PlanStatus

EVERY_SECTION = {
    "problems": [
        {"code": "F33.1", "text": "Major depressive disorder, recurrent, moderate"},
        {"code": "F41.1", "text": "Generalized anxiety disorder"},
    ],
    "goals": [
        {"kind": "patient", "text": "Get back to running"},
        {
            "kind": "clinical",
            "text": "Remission",
            "measure": "phq9",
            "comparator": "<",
            "target": 5,
            "target_date": "2027-03-01",
        },
        {"kind": "clinical", "text": "Well-being", "measure": "who5", "comparator": ">=", "target": 13.5},
        {"kind": "clinical", "text": "Back at work", "target_date": "2027-01-15"},
    ],
    "therapy": [
        {"modality": "cbt", "frequency": "weekly", "planned_sessions": 12, "focus": "Rumination"},
        {"modality": "ipt", "frequency": "fortnightly"},
        {"modality": "other", "modality_other": "Couples therapy"},
    ],
    "medication": {"approach": "Start an SSRI (sertraline)", "regimen_ids": []},
    "monitoring": [{"instrument": "phq9", "every_days": 14}, {"instrument": "who5", "every_days": 28}],
    "responsibilities": [{"who": "prescriber", "what": "Titrate sertraline"}],
    "communication": [{"text": "Tell the therapist after every medication change"}],
}


def current(plan) -> PlanRevision:
    assert plan.current is not None
    return plan.current


@pytest.fixture
def plan(personas):
    made = do_create_plan(
        personas.patient,
        acting_user=personas.therapist,
        role=Role.THERAPIST,
        content=EVERY_SECTION,
        title="Mood",
    )
    do_set_plan_status(made, PlanStatus.ACTIVE, acting_user=personas.therapist)
    made.refresh_from_db()
    return made


def valid(model, resource: dict) -> dict:
    """The resource validates as R4(B) and survives a JSON round trip unchanged."""
    parsed = model.model_validate(json.loads(json.dumps(resource)))
    assert parsed.id == resource["id"]
    return resource


@pytest.mark.django_db
def test_a_plan_with_every_section_is_a_valid_care_plan(plan):
    resource = valid(CarePlan, fhir.careplan(plan, current(plan)))
    assert resource["id"] == str(plan.pk)
    assert (resource["status"], resource["intent"]) == ("active", "plan")
    assert resource["subject"] == {"reference": f"Patient/{plan.patient_id}"}
    assert resource["meta"]["versionId"] == "1"
    keys = [g["key"] for g in plan.current.content["goals"]]
    assert resource["goal"] == [{"reference": f"Goal/{plan.pk}-{k}"} for k in keys]
    problems = [p["key"] for p in plan.current.content["problems"]]
    assert resource["addresses"] == [{"reference": f"Condition/{plan.pk}-{k}"} for k in problems]
    assert resource["careTeam"] == [{"reference": f"CareTeam/{plan.patient_id}"}]
    assert resource["note"] == [{"text": "Tell the therapist after every medication change"}]
    assert "period" in resource and "start" in resource["period"]


@pytest.mark.django_db
def test_therapy_is_an_activity_with_its_snomed_code_when_known(plan):
    details = [a["detail"] for a in fhir.careplan(plan, current(plan))["activity"]]
    cbt, ipt, other = details[:3]
    assert cbt["code"]["coding"] == [{"system": "http://snomed.info/sct", "code": "304891004"}]
    assert cbt["status"] == "in-progress"
    assert cbt["scheduledString"] == "weekly"
    assert "12 sessions planned" in cbt["description"]
    assert ipt["code"]["coding"][0]["code"] == "443730003"
    assert other["code"] == {"text": "Couples therapy"}


@pytest.mark.django_db
def test_monitoring_is_a_schedule_and_the_medication_approach_a_description(plan):
    details = [a["detail"] for a in fhir.careplan(plan, current(plan))["activity"]]
    medication = next(d for d in details if d.get("kind") == "MedicationRequest")
    assert medication["description"] == "Start an SSRI (sertraline)"
    phq9 = next(d for d in details if d.get("code", {}).get("text") == "PHQ-9")
    assert phq9["scheduledTiming"] == {"repeat": {"frequency": 1, "period": 14, "periodUnit": "d"}}
    assert phq9["code"]["coding"] == [{"system": "http://loinc.org", "code": "44249-1"}]
    who5 = next(d for d in details if d.get("code", {}).get("text") == "WHO-5")
    assert "coding" not in who5["code"]  # no confirmed LOINC panel
    duty = next(d for d in details if d.get("performer"))
    assert duty == {
        "status": "in-progress",
        "description": "Titrate sertraline",
        "performer": [{"display": "prescriber"}],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "fhir_status", "goal_status"),
    [
        (PlanStatus.DRAFT, "draft", "proposed"),
        (PlanStatus.ACTIVE, "active", "active"),
        (PlanStatus.COMPLETED, "completed", "completed"),
        (PlanStatus.DISCONTINUED, "revoked", "cancelled"),
    ],
)
def test_plan_status_maps_to_care_plan_and_goal_status(personas, status, fhir_status, goal_status):
    plan = do_create_plan(personas.patient, acting_user=personas.therapist, content=EVERY_SECTION)
    if status != PlanStatus.DRAFT:
        do_set_plan_status(plan, PlanStatus.ACTIVE, acting_user=personas.therapist)
    if status in (PlanStatus.COMPLETED, PlanStatus.DISCONTINUED):
        do_set_plan_status(plan, status, acting_user=personas.therapist, reason="Done")
    plan.refresh_from_db()
    assert valid(CarePlan, fhir.careplan(plan, current(plan)))["status"] == fhir_status
    assert {g["lifecycleStatus"] for g in fhir.goals(plan, current(plan))} == {goal_status}
    open_plan = status in (PlanStatus.DRAFT, PlanStatus.ACTIVE)
    assert all(("clinicalStatus" in c) == open_plan for c in fhir.conditions(plan, current(plan)))


@pytest.mark.django_db
def test_an_empty_draft_is_still_a_valid_care_plan(personas):
    plan = do_create_plan(personas.patient, acting_user=personas.therapist)
    resource = valid(CarePlan, fhir.careplan(plan, current(plan)))
    assert resource["status"] == "draft"
    assert not {"activity", "goal", "addresses", "note", "period"} & set(resource)


@pytest.mark.django_db
def test_goals_carry_their_loinc_measure_target_and_due_date(plan):
    resources = [valid(Goal, g) for g in fhir.goals(plan, current(plan))]
    own, remission, wellbeing, work = resources
    key = plan.current.content["goals"][1]["key"]
    assert remission["id"] == f"{plan.pk}-{key}"
    assert remission["target"] == [
        {
            "measure": {
                "text": "PHQ-9 total score",
                "coding": [{"system": "http://loinc.org", "code": "44261-6"}],
            },
            "detailQuantity": {
                "value": 5,
                "comparator": "<",
                "unit": "{score}",
                "system": "http://unitsofmeasure.org",
                "code": "{score}",
            },
            "dueDate": "2027-03-01",
        }
    ]
    assert wellbeing["target"][0]["measure"] == {"text": "WHO-5 (raw) total score"}
    assert wellbeing["target"][0]["detailQuantity"]["value"] == 13.5
    assert work["target"] == [{"dueDate": "2027-01-15"}]
    assert "target" not in own


@pytest.mark.django_db
def test_a_goal_in_the_patients_own_words_says_so(plan):
    own, remission, *_ = fhir.goals(plan, current(plan))
    system = f"{settings.SITE_URL}/fhir/CodeSystem/goal-source"
    assert own["category"][0]["coding"] == [
        {"system": system, "code": "patient-own-words", "display": "In the patient's own words"}
    ]
    assert own["expressedBy"] == {"reference": f"Patient/{plan.patient_id}"}
    assert own["description"] == {"text": "Get back to running"}
    assert remission["category"][0]["coding"][0]["code"] == "clinical-target"
    assert "expressedBy" not in remission


@pytest.mark.django_db
def test_problems_are_icd10cm_conditions(plan):
    resources = [valid(Condition, c) for c in fhir.conditions(plan, current(plan))]
    first = resources[0]
    assert first["id"] == f"{plan.pk}-{plan.current.content['problems'][0]['key']}"
    assert first["code"] == {
        "text": "Major depressive disorder, recurrent, moderate",
        "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.1"}],
    }
    assert first["clinicalStatus"]["coding"][0]["code"] == "active"
    assert first["subject"] == {"reference": f"Patient/{plan.patient_id}"}


@pytest.mark.django_db
def test_a_problem_without_a_code_is_text_only(personas):
    plan = do_create_plan(
        personas.patient,
        acting_user=personas.therapist,
        content={"problems": [{"code": "", "text": "Insomnia"}]},
    )
    (condition,) = fhir.conditions(plan, current(plan))
    assert valid(Condition, condition)["code"] == {"text": "Insomnia"}


@pytest.mark.django_db
def test_ids_stay_the_same_across_revisions(plan, personas):
    from tandem.plans.actions import do_revise_plan

    before = {g["id"] for g in fhir.goals(plan, current(plan))}
    content = {**plan.current.content, "communication": []}
    revision = do_revise_plan(
        plan, content=content, reason="Tidy", acting_user=personas.therapist, base_revision=1
    )
    assert {g["id"] for g in fhir.goals(plan, revision)} == before
    assert fhir.careplan(plan, revision)["id"] == str(plan.pk)
    assert fhir.careplan(plan, revision)["meta"]["versionId"] == "2"


@pytest.mark.django_db
def test_the_care_team_lists_the_patient_and_every_member_with_a_role(personas):
    ended = CareTeamMember.objects.get(patient=personas.patient, user=personas.consultant)
    ended.end = timezone.localdate() - timedelta(days=1)
    ended.save(update_fields=["end"])
    with CaptureQueriesContext(connection) as queries:
        resource = valid(CareTeam, fhir.careteam(personas.patient))
    assert len(queries.captured_queries) == 1
    assert resource["id"] == str(personas.patient.pk)
    assert resource["status"] == "active"
    participants = resource["participant"]
    assert participants[0]["member"] == {"reference": f"Patient/{personas.patient.pk}"}
    roles = {p["role"][0]["coding"][0]["code"]: p for p in participants}
    assert set(roles) == {"patient", "prescriber", "therapist", "care_manager", "psychiatric_consultant"}
    therapist = roles["therapist"]
    assert therapist["member"] == {
        "reference": f"Practitioner/{personas.therapist.pk}",
        "display": "Theo Therapist",
    }
    assert (
        therapist["role"][0]["coding"][0]["system"] == f"{settings.SITE_URL}/fhir/CodeSystem/care-team-role"
    )
    assert therapist["onBehalfOf"]["reference"] == f"Organization/{personas.home.pk}"
    assert roles["psychiatric_consultant"]["period"]["end"] == ended.end.isoformat()
    assert date.fromisoformat(therapist["period"]["start"]) < timezone.localdate()


@pytest.mark.django_db
def test_a_team_with_nobody_left_is_inactive(personas):
    CareTeamMember.objects.filter(patient=personas.patient).update(
        end=timezone.localdate() - timedelta(days=1)
    )
    assert valid(CareTeam, fhir.careteam(personas.patient))["status"] == "inactive"


@pytest.mark.django_db
def test_the_narrative_escapes_what_people_wrote(personas):
    plan = do_create_plan(
        personas.patient,
        acting_user=personas.therapist,
        title="<script>alert(1)</script>",
        content={"goals": [{"kind": "patient", "text": "Feel <b>better</b> & sleep"}]},
    )
    resource = valid(CarePlan, fhir.careplan(plan, current(plan)))
    div = resource["text"]["div"]
    assert "<script>" not in div and "&lt;script&gt;" in div
    assert "Feel &lt;b&gt;better&lt;/b&gt; &amp; sleep" in div
