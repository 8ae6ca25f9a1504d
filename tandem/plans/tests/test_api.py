from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.actions import do_create_api_token
from tandem.accounts.models import ApiToken, Role
from tandem.audit.models import AuditEvent, Outcome
from tandem.patients.models import Category, Consent
from tandem.plans.actions import do_create_plan, do_revise_plan, do_set_plan_status
from tandem.plans.models import PlanAcknowledgement, PlanStatus, TreatmentPlan

CONTENT = {
    "problems": [{"code": "F33.1", "text": "Major depressive disorder, recurrent, moderate"}],
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
    ],
    "therapy": [{"modality": "cbt", "frequency": "weekly", "planned_sessions": 12}],
    "medication": {"approach": "Start an SSRI (sertraline)"},
    "monitoring": [{"instrument": "phq9", "every_days": 14}],
    "responsibilities": [{"who": "prescriber", "what": "Titrate sertraline"}],
    "communication": [{"text": "Tell the therapist after every medication change"}],
}
ALL_SCOPES = "user/*.*"


def token_for(user, scopes: str = ALL_SCOPES, **extra) -> str:
    _, raw = do_create_api_token(user, scopes=scopes, expires_at=extra.get("expires_at"))
    return raw


def api(raw: str | None = None) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"}) if raw else Client()


def plans_url(patient_id, *rest) -> str:
    return "/".join([f"/api/patients/{patient_id}/plans", *map(str, rest)])


def make_plan(personas, *, active: bool = True):
    plan = do_create_plan(
        personas.patient,
        acting_user=personas.therapist,
        role=Role.THERAPIST,
        content=CONTENT,
        title="Depression",
    )
    if active:
        do_set_plan_status(plan, PlanStatus.ACTIVE, acting_user=personas.therapist)
    plan.refresh_from_db()
    return plan


def revise(personas, plan, **changes):
    assert plan.current is not None
    revision = do_revise_plan(
        plan,
        content={**plan.current.content, **changes},
        reason="Dose change",
        acting_user=personas.prescriber,
        base_revision=plan.revision_count,
        role=Role.PRESCRIBER,
    )
    plan.refresh_from_db()
    return revision


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


# Authentication ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_without_credentials_it_is_401_with_a_bearer_challenge(personas):
    response = api().get(plans_url(personas.patient.pk))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail", "errors"}


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["unknown", "revoked", "expired", "deactivated user", "not a token"])
def test_a_bad_token_is_401_and_the_attempt_is_audited(personas, how):
    raw = token_for(personas.therapist)
    if how == "unknown":
        raw = ApiToken.new_raw_value()
    elif how == "revoked":
        ApiToken.objects.update(revoked_at=timezone.now())
    elif how == "expired":
        ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "deactivated user":
        personas.therapist.is_active = False
        personas.therapist.save(update_fields=["is_active"])
    else:
        raw = "hunter2"
    before = last_seq()
    response = api(raw).get(plans_url(personas.patient.pk))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    denied = AuditEvent.objects.filter(seq__gt=before).get()
    assert (denied.outcome, denied.entity_type, denied.patient_id) == (Outcome.DENIED, "ApiToken", None)


@pytest.mark.django_db
def test_a_bad_token_is_refused_even_with_a_signed_in_session(personas):
    client = personas.client_for("therapist")
    response = client.get(plans_url(personas.patient.pk), headers={"Authorization": "Bearer tdm_nope"})
    assert response.status_code == 401


@pytest.mark.django_db
def test_a_token_records_its_use_at_most_once_a_minute(personas):
    raw = token_for(personas.therapist)
    client = api(raw)
    client.get(plans_url(personas.patient.pk))
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    client.get(plans_url(personas.patient.pk))
    assert ApiToken.objects.get().last_used_at == first
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        client.get(plans_url(personas.patient.pk))
    later = ApiToken.objects.get().last_used_at
    assert later is not None and later > first


# Scopes --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("scopes", ["user/Observation.read", "patient/*.read", "user/CarePlan.c"])
def test_a_token_without_a_care_plan_read_scope_is_403_and_audited(personas, scopes):
    make_plan(personas)
    client = api(token_for(personas.therapist, scopes))
    before = last_seq()
    response = client.get(plans_url(personas.patient.pk))
    assert response.status_code == 403
    assert "CarePlan" in response.json()["detail"]
    events = list(AuditEvent.objects.filter(seq__gt=before))
    assert [(e.outcome, e.entity_type) for e in events] == [(Outcome.DENIED, "CarePlan")]


@pytest.mark.django_db
def test_a_read_only_token_cannot_write(personas):
    plan = make_plan(personas)
    client = api(token_for(personas.therapist, "user/CarePlan.read"))
    assert client.get(plans_url(personas.patient.pk, plan.pk)).status_code == 200
    response = client.post(
        plans_url(personas.patient.pk, plan.pk, "revisions"),
        {"base_revision": 1, "reason": "x", "content": CONTENT},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert TreatmentPlan.objects.get().revision_count == 1


@pytest.mark.django_db
@pytest.mark.parametrize("scopes", ["user/CarePlan.rs", "user/*.read", "user/CarePlan.read", "user/*.*"])
def test_these_scopes_let_a_team_member_list_plans(personas, scopes):
    make_plan(personas)
    assert api(token_for(personas.therapist, scopes)).get(plans_url(personas.patient.pk)).status_code == 200


# Access --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["outsider", "colleague", "patient", "org_admin", "consented"])
def test_anyone_outside_the_plan_gets_the_same_404_as_a_missing_id_and_it_is_audited(personas, persona):
    plan = make_plan(personas)
    client = api(token_for(personas.all()[persona]))
    missing = client.get(plans_url(999999)).json()
    for path in (plans_url(personas.patient.pk), plans_url(personas.patient.pk, plan.pk)):
        before = last_seq()
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == missing == {"detail": "Not found.", "errors": {}}
        denied = AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).get()
        assert denied.patient_id == personas.patient.pk
        assert denied.actor == personas.all()[persona]


@pytest.mark.django_db
def test_a_plan_id_of_another_patient_is_not_found(personas):
    other = do_create_plan(personas.other_patient, acting_user=personas.colleague, content=CONTENT)
    response = api(token_for(personas.therapist)).get(plans_url(personas.patient.pk, other.pk))
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_team_member_reads_the_plan_its_revisions_and_a_diff_and_each_read_is_audited(personas):
    plan = make_plan(personas)
    revise(personas, plan, medication={"approach": "Sertraline 50 mg, then 100 mg"})
    client = api(token_for(personas.care_manager, "user/CarePlan.rs"))
    before = last_seq()

    listed = client.get(plans_url(personas.patient.pk)).json()
    detail = client.get(plans_url(personas.patient.pk, plan.pk)).json()
    revisions = client.get(plans_url(personas.patient.pk, plan.pk, "revisions")).json()
    first = client.get(plans_url(personas.patient.pk, plan.pk, "revisions", 1)).json()
    diff = client.get(plans_url(personas.patient.pk, plan.pk, "diff") + "?from=1&to=2").json()

    assert [p["id"] for p in listed] == [plan.pk]
    assert listed[0]["status"] == "active" and listed[0]["revision"] == 2
    assert detail["current"]["number"] == 2
    assert detail["current"]["author"] == "Rita Prescriber"
    assert detail["current"]["content"]["medication"]["approach"] == "Sertraline 50 mg, then 100 mg"
    assert [r["number"] for r in revisions] == [2, 1]
    assert "content" not in revisions[0]
    assert first["content"]["goals"][1]["target"] == 5
    assert diff["from_revision"] == 1 and diff["to_revision"] == 2
    assert diff["sections"][0]["section"] == "medication"
    assert diff["sections"][0]["changes"][0]["fields"][0] == {
        "field": "approach",
        "before": "Start an SSRI (sertraline)",
        "after": "Sertraline 50 mg, then 100 mg",
    }
    reads = AuditEvent.objects.filter(seq__gt=before, action="read")
    assert reads.count() == 5
    assert {(e.entity_type, e.actor_id, e.patient_id) for e in reads} == {
        ("CarePlan", personas.care_manager.pk, personas.patient.pk)
    }


@pytest.mark.django_db
def test_the_diff_defaults_to_the_last_change_and_a_missing_revision_is_404(personas):
    plan = make_plan(personas)
    revise(personas, plan, medication={"approach": "Sertraline"})
    client = api(token_for(personas.therapist))
    diff = client.get(plans_url(personas.patient.pk, plan.pk, "diff")).json()
    assert (diff["from_revision"], diff["to_revision"]) == (1, 2)
    assert client.get(plans_url(personas.patient.pk, plan.pk, "diff") + "?from=7").status_code == 404
    assert client.get(plans_url(personas.patient.pk, plan.pk, "revisions", 9)).status_code == 404


@pytest.mark.django_db
def test_a_malformed_id_is_422_not_500(personas):
    client = api(token_for(personas.therapist))
    response = client.get("/api/patients/abc/plans")
    assert response.status_code == 422
    assert "patient_id" in response.json()["errors"]
    assert client.get("/api/patients/99999999999999999999999/plans").status_code == 404


@pytest.mark.django_db
def test_lists_have_a_fixed_number_of_queries(personas):
    client = api(token_for(personas.therapist))
    plan = make_plan(personas, active=False)
    client.get(plans_url(personas.patient.pk))  # the token's last use is written once a minute

    def count(path: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        return len(ctx.captured_queries)

    few = count(plans_url(personas.patient.pk)), count(plans_url(personas.patient.pk, plan.pk, "revisions"))
    for i in range(6):
        revise(personas, plan, communication=[{"text": f"Agreement {i}"}])
    do_set_plan_status(plan, PlanStatus.ACTIVE, acting_user=personas.therapist)
    for _ in range(3):
        do_set_plan_status(
            make_plan(personas, active=False), PlanStatus.ACTIVE, acting_user=personas.therapist
        )
    many = count(plans_url(personas.patient.pk)), count(plans_url(personas.patient.pk, plan.pk, "revisions"))
    assert few == many


# Writes --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_team_editor_creates_a_draft_plan(personas):
    client = api(token_for(personas.prescriber, "user/CarePlan.cruds"))
    response = client.post(
        plans_url(personas.patient.pk),
        {"title": "Depression", "content": CONTENT},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    plan = TreatmentPlan.objects.get()
    assert (body["id"], body["status"], body["revision"]) == (plan.pk, "draft", 1)
    assert body["current"]["content"]["goals"][1]["target_date"] == "2027-03-01"
    assert plan.created_by == personas.prescriber
    created = AuditEvent.objects.filter(entity_type="CarePlan", action="create").get()
    assert created.actor == personas.prescriber and created.actor_role == Role.PRESCRIBER
    again = client.post(plans_url(personas.patient.pk), {"content": {}}, content_type="application/json")
    assert again.status_code == 409
    assert "draft" in again.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["consultant", "consented"])
def test_people_who_may_not_edit_cannot_create_a_plan(personas, persona):
    Consent.objects.filter(pk=personas.consent.pk).update(categories=[Category.PLAN, Category.MEDICATIONS])
    response = api(token_for(personas.all()[persona])).post(
        plans_url(personas.patient.pk), {"content": CONTENT}, content_type="application/json"
    )
    assert response.status_code == 404
    assert not TreatmentPlan.objects.exists()


@pytest.mark.django_db
def test_a_revision_is_created_from_the_base_it_was_made_on(personas):
    plan = make_plan(personas)
    content = {**plan.current.content, "medication": {"approach": "Sertraline 100 mg"}}
    response = api(token_for(personas.prescriber)).post(
        plans_url(personas.patient.pk, plan.pk, "revisions"),
        {"base_revision": 1, "reason": "Titrated", "content": content},
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["reason"], body["changed_sections"]) == (2, "Titrated", ["medication"])
    assert body["author"] == "Rita Prescriber"
    plan.refresh_from_db()
    assert plan.revision_count == 2
    assert PlanAcknowledgement.objects.filter(revision=plan.current, user=personas.prescriber).exists()


@pytest.mark.django_db
def test_a_revision_on_an_old_base_is_a_409_naming_the_current_revision(personas):
    plan = make_plan(personas)
    revise(personas, plan, medication={"approach": "Sertraline"})
    response = api(token_for(personas.therapist)).post(
        plans_url(personas.patient.pk, plan.pk, "revisions"),
        {"base_revision": 1, "reason": "Mine", "content": {**CONTENT, "communication": []}},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json()["current_revision"] == 2
    assert "changed since you opened it" in response.json()["detail"]
    plan.refresh_from_db()
    assert plan.revision_count == 2


@pytest.mark.django_db
def test_a_revision_of_a_closed_plan_or_with_no_change_is_a_409(personas):
    plan = make_plan(personas)
    client = api(token_for(personas.therapist))
    same = client.post(
        plans_url(personas.patient.pk, plan.pk, "revisions"),
        {"base_revision": 1, "reason": "Nothing", "content": plan.current.content},
        content_type="application/json",
    )
    assert same.status_code == 409 and same.json()["detail"] == "Nothing changed."
    do_set_plan_status(plan, PlanStatus.COMPLETED, acting_user=personas.therapist, reason="Remission")
    closed = client.post(
        plans_url(personas.patient.pk, plan.pk, "revisions"),
        {"base_revision": 1, "reason": "Late", "content": CONTENT},
        content_type="application/json",
    )
    assert closed.status_code == 409 and "completed" in closed.json()["detail"]


@pytest.mark.django_db
def test_invalid_content_is_a_422_naming_each_field(personas):
    plan = make_plan(personas)
    goals = [{"kind": "clinical", "text": "Remission", "measure": "phq9", "comparator": "<", "target": 50}]
    response = api(token_for(personas.therapist)).post(
        plans_url(personas.patient.pk, plan.pk, "revisions"),
        {
            "base_revision": 1,
            "reason": "",
            "content": {
                **CONTENT,
                "goals": goals,
                "problems": [{"code": "nonsense", "text": "x"}],
                "monitoring": [{"instrument": "phq9", "every_days": 0}],
            },
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["content.goals.0"] == ["the PHQ-9 target must be between 0 and 27"]
    assert "ICD-10-CM" in errors["content.problems.0.code"][0]
    assert "content.monitoring.0.every_days" in errors
    assert "reason" in errors
    plan.refresh_from_db()
    assert plan.revision_count == 1


@pytest.mark.django_db
def test_an_unreadable_body_is_a_400(personas):
    plan = make_plan(personas)
    response = api(token_for(personas.therapist)).post(
        plans_url(personas.patient.pk, plan.pk, "revisions"), "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"detail", "errors"}


@pytest.mark.django_db
def test_a_team_member_acknowledges_a_revision_once(personas):
    plan = make_plan(personas)
    revise(personas, plan, medication={"approach": "Sertraline"})
    client = api(token_for(personas.consultant, "user/CarePlan.u"))
    url = plans_url(personas.patient.pk, plan.pk, "acknowledge")
    first = client.post(url, {"revision": 2}, content_type="application/json")
    second = client.post(url, {"revision": 2}, content_type="application/json")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert PlanAcknowledgement.objects.filter(user=personas.consultant).count() == 1
    assert client.post(url, {"revision": 7}, content_type="application/json").status_code == 404


@pytest.mark.django_db
def test_a_consented_reader_cannot_acknowledge(personas):
    Consent.objects.filter(pk=personas.consent.pk).update(categories=[Category.PLAN])
    plan = make_plan(personas)
    client = api(token_for(personas.consented))
    assert client.get(plans_url(personas.patient.pk, plan.pk)).status_code == 200
    before = last_seq()
    response = client.post(
        plans_url(personas.patient.pk, plan.pk, "acknowledge"),
        {"revision": 1},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).exists()


# The browser session -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_signed_in_session_reads_and_needs_the_csrf_token_to_write(personas):
    make_plan(personas, active=False)
    do_set_plan_status(TreatmentPlan.objects.get(), PlanStatus.ACTIVE, acting_user=personas.therapist)
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.therapist)
    assert client.get(plans_url(personas.patient.pk)).status_code == 200

    body = {"title": "Second", "content": CONTENT}
    refused = client.post(plans_url(personas.patient.pk), body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]

    client.get(reverse("patients:detail", kwargs={"patient_id": personas.patient.pk}))  # sets csrftoken
    token = client.cookies["csrftoken"].value
    created = client.post(
        plans_url(personas.patient.pk), body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert created.status_code == 201
    assert AuditEvent.objects.filter(entity_type="CarePlan", action="create").latest("seq").actor == (
        personas.therapist
    )


# The OpenAPI document ------------------------------------------------------------------------

OPERATIONS = {
    ("get", "/api/patients/{patient_id}/plans"),
    ("post", "/api/patients/{patient_id}/plans"),
    ("get", "/api/patients/{patient_id}/plans/{plan_id}"),
    ("get", "/api/patients/{patient_id}/plans/{plan_id}/revisions"),
    ("post", "/api/patients/{patient_id}/plans/{plan_id}/revisions"),
    ("get", "/api/patients/{patient_id}/plans/{plan_id}/revisions/{number}"),
    ("get", "/api/patients/{patient_id}/plans/{plan_id}/diff"),
    ("post", "/api/patients/{patient_id}/plans/{plan_id}/acknowledge"),
}


@pytest.mark.django_db
def test_the_openapi_document_lists_every_operation_with_its_error_responses():
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Tandem API"
    found = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert found >= OPERATIONS
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "401", "403", "404", "422"} <= codes, (method, path)
            if method == "post":
                assert "409" in codes, (method, path)
            assert op["security"], (method, path)
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {"type": "http", "scheme": "bearer"}
    assert "PlanContent" in document["components"]["schemas"]


@pytest.mark.django_db
def test_the_docs_load_nothing_from_a_cdn():
    response = Client().get("/api/docs")
    if not apps.is_installed("ninja"):
        assert response.status_code == 404  # ninja would load Swagger UI from a CDN
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn." not in html and "https://" not in html
