"""The patient's plan and safety plan in the portal: own record only, plain language, agreeing,
asking, own-words goals, writing the safety plan, and a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.accounts.models import Organisation
from tandem.audit.models import AuditEvent, Outcome
from tandem.lib.testing import make_patient, make_user
from tandem.plans.actions import do_patient_goals, do_save_safety_document
from tandem.plans.models import EducationTopic, PatientAgreement, PlanQuestion, SafetyDocument
from tandem.plans.tests.plan_helpers import CONTENT, active_plan

EVERYONE = {
    "prescriber",
    "therapist",
    "care_manager",
    "consultant",
    "org_admin",
    "patient",
    "other_patient",
    "colleague",
    "outsider",
    "consented",
}
PAGES = ["portal:plan", "portal:plan_goals", "portal:safety"]
KIND_PAGES = ["portal:safety_edit", "portal:safety_print"]
POSTS = ["portal:plan_agree", "portal:plan_question", "portal:plan_goals"]


def last_seq():
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def assert_denied(response, before):
    assert response.status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, seq__gt=before).exists(), "denial not audited"


@pytest.fixture
def plan(personas):
    return active_plan(personas.patient, personas.therapist)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("name", PAGES + KIND_PAGES)
def test_only_a_patient_opens_the_portal_plan_pages_and_sees_only_their_own(personas, plan, name, persona):
    do_save_safety_document(
        personas.patient,
        "safety",
        content={"warning_signs": ["Pat's own sign"]},
        acting_user=personas.therapist,
        base_revision=0,
    )
    target = reverse(name, kwargs={"kind": "safety"} if name in KIND_PAGES else {})
    before = last_seq()
    response = personas.client_for(persona).get(target)
    if persona == "patient":
        assert response.status_code == 200
        assert "Oli" not in response.content.decode()
    elif persona == "other_patient":
        # Oli has no plan yet, and sees nothing of Pat's.
        assert response.status_code == 200
        html = response.content.decode()
        assert "Pat's own sign" not in html and "Get back to running" not in html
    else:
        assert_denied(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE - {"patient", "other_patient"}))
@pytest.mark.parametrize("name", [*POSTS, "portal:safety_edit"])
def test_no_clinician_or_admin_can_post_in_the_portal(personas, plan, name, persona):
    target = reverse(name, kwargs={"kind": "safety"} if name == "portal:safety_edit" else {})
    before = last_seq()
    response = personas.client_for(persona).post(
        target, {"text": "hi", "goals": "x", "base_revision": "1", "warning_signs": "x"}
    )
    assert_denied(response, before)
    assert not PatientAgreement.objects.exists() and not PlanQuestion.objects.exists()


@pytest.mark.django_db
def test_another_patient_cannot_act_on_pats_plan(personas, plan):
    client = personas.client_for("other_patient")
    client.post(reverse("portal:plan_agree"), {"revision": "1"})
    client.post(reverse("portal:plan_question"), {"text": "Whose plan is this?"})
    client.post(reverse("portal:plan_goals"), {"goals": "Take over", "base_revision": "1"})
    assert not PatientAgreement.objects.exists() and not PlanQuestion.objects.exists()
    plan.refresh_from_db()
    assert plan.revision_count == 1


@pytest.mark.django_db
def test_the_plan_shows_own_goals_first_then_explains_the_rest_in_plain_words(personas, plan):
    response = personas.client_for("patient").get(reverse("portal:plan"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Get back to running") < html.index("Remission of depression")
    assert "PHQ-9 below 5 means few or no symptoms of depression" in html
    assert "A short questionnaire about your mood (PHQ-9) every 2 weeks" in html
    assert "Cognitive behavioural therapy (CBT)" in html and "Weekly, about 12 sessions." in html
    assert "thought record" in html  # the CBT education text
    assert "Start an SSRI (sertraline)" in html
    assert "often 2–6" in html and "Keep taking it" in html
    assert "tell Rita Prescriber (your prescriber) about anything that bothers you" in html
    assert "SSRI antidepressants" in html and "Why both together" in html
    assert "<strong>Rita Prescriber (your prescriber):</strong> Reviews the medication every 4 weeks" in html
    assert "I agree with this plan" in html


@pytest.mark.django_db
def test_without_an_active_plan_the_patient_is_told_the_team_is_preparing_it(personas):
    from tandem.plans.actions import do_create_plan

    do_create_plan(personas.patient, acting_user=personas.therapist, content=CONTENT)  # a draft only
    html = personas.client_for("patient").get(reverse("portal:plan")).content.decode()
    assert "Your care team is preparing your plan" in html
    assert "Get back to running" not in html
    html = personas.client_for("patient").get(reverse("portal:plan_goals")).content.decode()
    assert "still preparing your plan" in html and "Get back to running" not in html
    response = personas.client_for("patient").post(
        reverse("portal:plan_goals"), {"goals": "x", "base_revision": "1"}
    )
    assert response.status_code == 200 and "still preparing your plan" in response.content.decode()


@pytest.mark.django_db
def test_the_patient_agrees_to_the_current_revision(personas, plan):
    client = personas.client_for("patient")
    response = client.post(reverse("portal:plan_agree"), {"revision": "1"})
    assert response.status_code == 302
    agreement = PatientAgreement.objects.get()
    assert agreement.revision == plan.current and agreement.patient == personas.patient
    html = client.get(reverse("portal:plan")).content.decode()
    assert "You agreed to this version" in html
    assert "I agree with this plan" not in html


@pytest.mark.django_db
def test_agreeing_to_a_version_that_has_since_changed_asks_to_read_it_first(personas, plan):
    do_patient_goals(
        plan,
        patient=personas.patient,
        goals=["Sleep better"],
        acting_user=personas.patient_user,
        base_revision=1,
    )
    response = personas.client_for("patient").post(
        reverse("portal:plan_agree"), {"revision": "1"}, follow=True
    )
    assert "Your plan changed while you were reading it" in response.content.decode()
    assert not PatientAgreement.objects.exists()


@pytest.mark.django_db
def test_a_question_needs_text_and_a_too_long_one_is_kept_with_the_error(personas, plan):
    client = personas.client_for("patient")
    response = client.post(reverse("portal:plan_question"), {"text": "   "})
    assert response.status_code == 400
    assert "<strong>Your question:</strong> Write your question first." in response.content.decode()
    long = "Why this dose? " * 300
    response = client.post(reverse("portal:plan_question"), {"text": long})
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>Your question:</strong>" in html and long.strip() in html
    assert not PlanQuestion.objects.exists()
    response = client.post(reverse("portal:plan_question"), {"text": "How long do I take the tablets?"})
    assert response.status_code == 302
    question = PlanQuestion.objects.get()
    assert question.plan == plan and question.patient == personas.patient
    assert "How long do I take the tablets?" in client.get(reverse("portal:plan")).content.decode()


@pytest.mark.django_db
def test_the_patient_rewrites_their_goals_and_clinical_goals_stay(personas, plan):
    client = personas.client_for("patient")
    form = client.get(reverse("portal:plan_goals")).content.decode()
    assert "Get back to running" in form and 'name="base_revision" value="1"' in form
    response = client.post(
        reverse("portal:plan_goals"), {"goals": "Run a 5k\n\nSee friends", "base_revision": "1"}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    goals = plan.current.content["goals"]
    assert [g["text"] for g in goals if g["kind"] == "patient"] == ["Run a 5k", "See friends"]
    assert [g["text"] for g in goals if g["kind"] == "clinical"] == ["Remission of depression"]
    assert plan.current.author_role == "patient"


@pytest.mark.django_db
def test_a_concurrent_change_to_the_goals_keeps_what_the_patient_typed(personas, plan):
    client = personas.client_for("patient")
    client.get(reverse("portal:plan_goals"))
    do_patient_goals(
        plan,
        patient=personas.patient,
        goals=["Changed elsewhere"],
        acting_user=personas.patient_user,
        base_revision=1,
    )
    response = client.post(
        reverse("portal:plan_goals"), {"goals": "Walk every morning", "base_revision": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "changed since you opened it" in html
    assert "Walk every morning" in html and "Changed elsewhere" in html
    assert 'name="base_revision" value="2"' in html
    plan.refresh_from_db()
    assert plan.revision_count == 2


@pytest.mark.django_db
def test_a_too_long_goal_is_named_and_kept(personas, plan):
    long = "a" * 1001
    response = personas.client_for("patient").post(
        reverse("portal:plan_goals"), {"goals": f"Fine goal\n{long}", "base_revision": "1"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Goal 2 is too long" in html and long in html and "Fine goal" in html


@pytest.mark.django_db
def test_the_patient_writes_their_safety_plan_with_tel_links_and_988_is_always_there(personas):
    client = personas.client_for("patient")
    html = client.get(reverse("portal:safety")).content.decode()
    assert 'href="tel:988"' in html and "You have not written a safety plan yet" in html
    data = {"base_revision": "0", "warning_signs": "Can't sleep", "people_to_ask": "Sam — 555 0100"}
    response = client.post(reverse("portal:safety_edit", kwargs={"kind": "safety"}), data)
    assert response.status_code == 302
    doc = SafetyDocument.objects.get(patient=personas.patient, kind="safety")
    assert doc.current.author == personas.patient_user and doc.current.author_role == "patient"
    html = client.get(reverse("portal:safety")).content.decode()
    assert 'href="tel:5550100"' in html and "by you" in html
    assert html.count('href="tel:988"') >= 2  # the crisis box and the professionals step
    assert html.index('id="safety-h"') < html.index('id="relapse-h"')


@pytest.mark.django_db
def test_a_bad_phone_in_the_portal_is_named_and_kept(personas):
    data = {"base_revision": "0", "contacts": "Mum — ring after 6"}
    response = personas.client_for("patient").post(
        reverse("portal:safety_edit", kwargs={"kind": "relapse"}), data
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>Whom I will contact:</strong> Line 1" in html and "Mum — ring after 6" in html


@pytest.mark.django_db
def test_the_printable_safety_plan_has_no_navigation(personas):
    html = (
        personas.client_for("patient")
        .get(reverse("portal:safety_print", kwargs={"kind": "safety"}))
        .content.decode()
    )
    assert 'aria-label="Main"' not in html and "My safety plan</a>" not in html
    assert "call or text 988" in html


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["portal:home", "portal:sharing", "portal:access_log", "portal:plan"])
def test_every_portal_page_has_the_safety_plan_one_tap_away(personas, name):
    html = personas.client_for("patient").get(reverse(name)).content.decode()
    assert f'<p class="safety-strip"><a href="{reverse("portal:safety")}">My safety plan</a></p>' in html


@pytest.mark.django_db
def test_clinicians_do_not_get_the_patients_safety_link(personas):
    html = personas.client_for("therapist").get(reverse("patients:list")).content.decode()
    assert "safety-strip" not in html


@pytest.mark.django_db
def test_an_organisations_own_education_text_reaches_its_patients_only(personas, plan):
    EducationTopic.objects.create(
        organisation=personas.home,
        kind="modality",
        key="cbt",
        title="CBT at Riverside",
        body="Our CBT group meets on **Tuesdays**.",
    )
    html = personas.client_for("patient").get(reverse("portal:plan")).content.decode()
    assert "CBT at Riverside" in html and "<strong>Tuesdays</strong>" in html
    # A patient of another organisation with the same plan sees the built-in text.
    other_org = Organisation.objects.create(name="Hillside", slug="hillside")
    therapist = make_user("t@hillside.test", "Hill Therapist", other_org, "therapist")
    user = make_user("hill@example.test", "Hil Patient")
    patient = make_patient(other_org, "HS-1", "Hil", "Patient", portal_user=user)
    active_plan(patient, therapist)
    html = personas.client_for(user).get(reverse("portal:plan")).content.decode()
    assert "Tuesdays" not in html and "What is Cognitive behavioural therapy (CBT)?" in html


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("portal:plan"))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_plan_page_runs_a_fixed_number_of_queries_however_long_the_plan(personas):
    plan = active_plan(personas.patient, personas.therapist)
    client = personas.client_for("patient")
    _queries(client)  # warm up (session, caches)
    short = _queries(client)
    long = {
        **CONTENT,
        "goals": [{"kind": "patient", "text": f"Goal {i}"} for i in range(12)]
        + [
            {"kind": "clinical", "text": f"Aim {i}", "measure": "gad7", "comparator": "<", "target": 5}
            for i in range(8)
        ],
        "therapy": [{"modality": m} for m in ("cbt", "ipt", "ba", "pst", "dbt")],
        "medication": {"approach": "Sertraline, then lithium; lorazepam for a short time"},
        "monitoring": [{"instrument": i, "every_days": 7} for i in ("phq9", "gad7", "cssrs", "who5")],
    }
    from tandem.plans.actions import do_revise_plan

    do_revise_plan(plan, content=long, reason="Longer", acting_user=personas.therapist, base_revision=1)
    PlanQuestion.objects.bulk_create(
        [PlanQuestion(plan=plan, patient=personas.patient, text=f"Q{i}") for i in range(5)]
    )
    assert _queries(client) == short
    assert short == 14, "the plan page's query count changed: update the pin if that was intended"


@pytest.mark.django_db
def test_every_control_on_the_plan_and_goals_pages_is_labelled(personas, plan):
    from tests.test_accessibility import unlabelled

    client = personas.client_for("patient")
    for name in ("portal:plan", "portal:plan_goals"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert unlabelled(response.content.decode()) == [], name


@pytest.mark.django_db
def test_a_goals_form_without_its_revision_is_refused_with_the_text_kept(personas, plan):
    response = personas.client_for("patient").post(reverse("portal:plan_goals"), {"goals": "Swim again"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "This page was incomplete or out of date" in html and "Swim again" in html


@pytest.mark.django_db
def test_an_unknown_document_kind_is_not_found_and_audited(personas):
    client = personas.client_for("patient")
    for name in ("portal:safety_edit", "portal:safety_print"):
        before = last_seq()
        assert_denied(client.get(reverse(name, kwargs={"kind": "diary"})), before)
