from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.accounts.models import Notification
from tandem.patients.models import Category, Consent
from tandem.plans import actions
from tandem.plans.models import PlanAcknowledgement, PlanProposal, PlanStatus, TreatmentPlan

CONTENT = {
    "problems": [{"key": "p1", "code": "F33.1", "text": "Major depressive disorder, recurrent, moderate"}],
    "goals": [
        {"key": "g1", "kind": "patient", "text": "Get back to running"},
        {
            "key": "g2",
            "kind": "clinical",
            "text": "Remission",
            "measure": "phq9",
            "comparator": "<",
            "target": 5,
        },
    ],
    "therapy": [{"key": "t1", "modality": "cbt", "frequency": "weekly", "planned_sessions": 12}],
    "medication": {"approach": "Start sertraline 50 mg"},
    "monitoring": [{"key": "m1", "instrument": "phq9", "every_days": 14}],
}


def active_plan(personas) -> TreatmentPlan:
    plan = actions.do_create_plan(
        personas.patient, acting_user=personas.prescriber, role="prescriber", content=CONTENT
    )
    return actions.do_set_plan_status(plan, PlanStatus.ACTIVE, acting_user=personas.prescriber)


def goals_post(
    plan: TreatmentPlan, rows: list[dict], reason: str = "Raise the bar", base: int | None = None
) -> dict:
    data = {
        "reason": reason,
        "base_revision": plan.revision_count if base is None else base,
        "goals-TOTAL_FORMS": len(rows),
        "goals-INITIAL_FORMS": 0,
        "goals-MIN_NUM_FORMS": 0,
        "goals-MAX_NUM_FORMS": 30,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"goals-{i}-{key}"] = value
    return data


def edit_url(personas, plan, section="goals") -> str:
    return reverse(
        "plans:edit_section",
        kwargs={"patient_id": personas.patient.pk, "plan_id": plan.pk, "section": section},
    )


@pytest.mark.django_db
def test_a_prescriber_changes_a_goal_and_the_therapist_acknowledges(
    personas, django_capture_on_commit_callbacks
):
    plan = active_plan(personas)
    rows = [
        {"key": "g1", "kind": "patient", "text": "Get back to running"},
        {
            "key": "g2",
            "kind": "clinical",
            "text": "Remission",
            "measure": "phq9",
            "comparator": "<",
            "target": "5",
            "target_date": "2027-03-01",
        },
    ]
    response = personas.client_for("prescriber").post(edit_url(personas, plan), goals_post(plan, rows))
    assert response.status_code == 302, response.content.decode()[:2000]
    plan.refresh_from_db()
    assert plan.revision_count == 2
    assert plan.current.changed_sections == ["goals"]
    assert Notification.objects.filter(user=personas.therapist, text__contains="changed the plan").exists()
    therapist = personas.client_for("therapist")
    page = therapist.get(reverse("plans:plan", kwargs={"patient_id": personas.patient.pk})).content.decode()
    assert "Acknowledge revision 2" in page
    therapist.post(
        reverse("plans:acknowledge", kwargs={"patient_id": personas.patient.pk, "plan_id": plan.pk}),
        {"revision": 2},
    )
    assert PlanAcknowledgement.objects.filter(revision=plan.current, user=personas.therapist).exists()
    page = therapist.get(reverse("plans:plan", kwargs={"patient_id": personas.patient.pk})).content.decode()
    assert "Acknowledge revision 2" not in page


@pytest.mark.django_db
def test_the_second_of_two_concurrent_edits_is_refused_and_keeps_its_text(personas):
    plan = active_plan(personas)
    base = plan.revision_count
    first = [{"key": "g1", "kind": "patient", "text": "Sleep through the night"}]
    second = [{"key": "g1", "kind": "patient", "text": "Walk the dog every morning"}]
    assert (
        personas.client_for("prescriber")
        .post(edit_url(personas, plan), goals_post(plan, first, base=base))
        .status_code
        == 302
    )
    response = personas.client_for("therapist").post(
        edit_url(personas, plan), goals_post(plan, second, base=base)
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed since you opened it" in html
    assert "Walk the dog every morning" in html
    plan.refresh_from_db()
    assert plan.current.content["goals"][0]["text"] == "Sleep through the night"


@pytest.mark.django_db
def test_a_goal_with_a_measure_needs_a_valid_target_named_by_field(personas):
    plan = active_plan(personas)
    rows = [
        {"kind": "clinical", "text": "Less anxiety", "measure": "gad7", "comparator": "<", "target": "40"}
    ]
    response = personas.client_for("prescriber").post(edit_url(personas, plan), goals_post(plan, rows))
    assert response.status_code == 400
    html = response.content.decode()
    assert "the GAD-7 target must be between 0 and 21" in html
    assert 'value="Less anxiety"' in html
    plan.refresh_from_db()
    assert plan.revision_count == 1


@pytest.mark.django_db
def test_a_goal_without_a_measure_or_date_is_fine(personas):
    plan = active_plan(personas)
    rows = [{"kind": "patient", "text": "See friends again"}]
    response = personas.client_for("therapist").post(
        edit_url(personas, plan), goals_post(plan, rows, reason="Patient's words")
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_revisions_diff_and_restore(personas):
    plan = active_plan(personas)
    actions.do_revise_plan(
        plan,
        content={**CONTENT, "medication": {"approach": "Sertraline 100 mg"}},
        reason="Titrate",
        acting_user=personas.prescriber,
        base_revision=1,
    )
    client = personas.client_for("therapist")
    kwargs = {"patient_id": personas.patient.pk, "plan_id": plan.pk}
    diff = client.get(reverse("plans:diff", kwargs=kwargs) + "?from=1&to=2").content.decode()
    assert "Start sertraline 50 mg" in diff and "Sertraline 100 mg" in diff
    assert client.get(reverse("plans:diff", kwargs=kwargs) + "?from=abc&to=999").status_code == 200
    response = client.post(reverse("plans:restore", kwargs={**kwargs, "number": 1}), {"base_revision": 2})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.revision_count == 3
    assert plan.current.restored_from == 1
    assert plan.current.content["medication"]["approach"] == "Start sertraline 50 mg"
    assert client.get(reverse("plans:revision", kwargs={**kwargs, "number": 99})).status_code == 404


@pytest.mark.django_db
def test_a_consultant_proposes_and_the_section_author_accepts(personas):
    plan = active_plan(personas)
    url = reverse(
        "plans:propose", kwargs={"patient_id": personas.patient.pk, "plan_id": plan.pk, "section": "goals"}
    )
    assert personas.client_for("consultant").get(edit_url(personas, plan)).status_code == 404  # may not edit
    rows = [
        {
            "key": "g2",
            "kind": "clinical",
            "text": "Response",
            "measure": "phq9",
            "comparator": "<=",
            "target": "9",
        }
    ]
    assert (
        personas.client_for("consultant")
        .post(url, goals_post(plan, rows, reason="Aim for response first"))
        .status_code
        == 302
    )
    proposal = PlanProposal.objects.get()
    decide = reverse(
        "plans:decide",
        kwargs={"patient_id": personas.patient.pk, "plan_id": plan.pk, "proposal_id": proposal.pk},
    )
    personas.client_for("therapist").post(decide, {"decision": "accept"})  # not the author of the goals
    proposal.refresh_from_db()
    assert proposal.status == "open"
    personas.client_for("prescriber").post(decide, {"decision": "accept"})
    proposal.refresh_from_db()
    plan.refresh_from_db()
    assert proposal.status == "accepted"
    assert plan.current.content["goals"][0]["text"] == "Response"
    assert "Accepted the proposal" in plan.current.reason


@pytest.mark.django_db
def test_a_clinician_consented_for_the_plan_reads_it_but_cannot_edit(personas):
    plan = active_plan(personas)
    url = reverse("plans:plan", kwargs={"patient_id": personas.patient.pk})
    assert personas.client_for("consented").get(url).status_code == 404  # medications and measures only
    Consent.objects.create(
        patient=personas.patient,
        grantee_user=personas.outsider,
        categories=[Category.PLAN],
        start=personas.consent.start,
    )
    html = personas.client_for("outsider").get(url).content.decode()
    assert "Get back to running" in html
    assert personas.client_for("outsider").get(edit_url(personas, plan)).status_code == 404


@pytest.mark.django_db
def test_starting_activating_and_ending_a_plan(personas):
    client = personas.client_for("care_manager")
    client.post(reverse("plans:create", kwargs={"patient_id": personas.patient.pk}))
    plan = TreatmentPlan.objects.get()
    assert plan.status == PlanStatus.DRAFT
    status = reverse("plans:status", kwargs={"patient_id": personas.patient.pk, "plan_id": plan.pk})
    client.post(status, {"status": "active"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    client.post(status, {"status": "completed", "reason": ""})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE  # a reason is needed
    client.post(status, {"status": "completed", "reason": "Remission for 6 months"})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.COMPLETED


@pytest.mark.django_db
def test_the_acknowledge_item_waits_on_my_patients_until_done(personas):
    plan = active_plan(personas)
    actions.do_revise_plan(
        plan,
        content={**CONTENT, "goals": []},
        reason="Goals rewritten together",
        acting_user=personas.prescriber,
        base_revision=1,
    )
    therapist = personas.client_for("therapist")
    html = therapist.get(reverse("patients:list")).content.decode()
    assert "Acknowledge plan change" in html and "Goals rewritten together" in html
    assert (
        "Acknowledge plan change"
        not in personas.client_for("prescriber").get(reverse("patients:list")).content.decode()
    )
    actions.do_acknowledge(plan, revision_number=2, acting_user=personas.therapist)
    assert "Acknowledge plan change" not in therapist.get(reverse("patients:list")).content.decode()


@pytest.mark.django_db
def test_a_team_member_of_another_organisation_acknowledges_too(personas):
    from tandem.accounts.models import Role
    from tandem.patients.models import CareTeamMember

    CareTeamMember.objects.create(
        patient=personas.patient,
        user=personas.outsider,
        role=Role.PRESCRIBER,
        organisation=personas.other_org,
        start=personas.consent.start,
    )
    plan = active_plan(personas)
    actions.do_revise_plan(
        plan,
        content={**CONTENT, "communication": [{"text": "Monthly summary to both prescribers"}]},
        reason="Shared prescribing",
        acting_user=personas.therapist,
        base_revision=1,
    )
    outsider = personas.client_for("outsider")
    assert "Acknowledge plan change" in outsider.get(reverse("patients:list")).content.decode()
    outsider.post(
        reverse("plans:acknowledge", kwargs={"patient_id": personas.patient.pk, "plan_id": plan.pk}),
        {"revision": 2},
    )
    plan.refresh_from_db()
    assert PlanAcknowledgement.objects.filter(revision=plan.current, user=personas.outsider).exists()
    html = (
        personas.client_for("therapist")
        .get(reverse("plans:plan", kwargs={"patient_id": personas.patient.pk}))
        .content.decode()
    )
    assert "Otto Outsider" in html
