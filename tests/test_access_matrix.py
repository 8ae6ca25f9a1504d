"""Every URL of the application, requested as every persona: allowed, or 404 like a missing id.

The list of URLs comes from the URL configuration, so a new URL that is not placed in one of the
classes below fails `test_every_url_is_in_the_matrix` until someone decides who may open it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tandem.audit.models import AuditEvent, Outcome
from tandem.patients.models import CareTeamMember, Consent
from tandem.patients.views import TABS

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
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
CLINICIANS = TEAM | {"colleague", "outsider", "consented"}

PUBLIC = {
    "login",
    "healthz",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
}
OWN_ACCOUNT = {"home", "logout", "notifications", "accounts:mfa", "accounts:password_change"}
CLINICIAN_ONLY = {"patients:list": "GET", "patients:break_glass": "GET", "collab:inbox": "GET"}
PORTAL = {
    "portal:home",
    "portal:access_log",
    "portal:crisis",
    "portal:sharing",
    "portal:plan",
    "portal:plan_goals",
    "portal:safety",
    "portal:safety_edit",
    "portal:safety_print",
    "portal:doses",
    "portal:side_effect",
    "portal:side_effects",
    "portal:calendar",
    "portal:fills",
}
PORTAL_KWARGS = {"portal:safety_edit": {"kind": "safety"}, "portal:safety_print": {"kind": "relapse"}}
# Tested elsewhere: a patient withdraws their own consent only (below); agreeing and asking act
# on the signed-in patient's own plan only (tandem/portal/tests/test_plan_portal.py).
PORTAL_POST = {
    "portal:consent_revoke",
    "portal:plan_agree",
    "portal:plan_question",
    "portal:log_dose",
    "portal:calendar_new",
    "portal:calendar_revoke",
    "portal:calendar_titles",
}
# The calendar feed: no login, the secret token is the credential (tandem/medications/tests/test_calendar.py).
TOKEN = {"feeds:doses"}
# A report of one's own, tested in tandem/portal/tests/test_side_effect_portal.py.
PORTAL_OWN_OBJECT = {"portal:side_effect_detail"}
ORG_ADMIN = {
    "manage:members": "GET",
    "manage:member_new": "GET",
    "manage:member_deactivate": "POST",
    "manage:patients": "GET",
    "manage:patient_new": "GET",
    "audit:org_log": "GET",
    "education:list": "GET",
    "education:edit": "GET",
    "education:reset": "POST",
}
ORG_ADMIN_KWARGS = {
    "manage:member_deactivate": lambda p: {"user_id": p.therapist.pk},
    "education:edit": lambda p: {"kind": "modality", "key": "cbt"},
    "education:reset": lambda p: {"kind": "modality", "key": "cbt"},
}
# Patient-scoped URLs of Pat (the personas' patient): who may open each, written out by hand
# from the access policy rather than computed from it.
RECORD = TEAM | {"org_admin", "consented"}
MANAGE = TEAM | {"org_admin"}
EDITORS = {"prescriber", "therapist", "care_manager"}  # the consultant reads, comments and proposes
PATIENT_SCOPED = {
    "patients:detail": ("GET", RECORD),
    "patients:edit": ("GET", MANAGE),
    "patients:team_add": ("GET", MANAGE),
    "patients:team_end": ("POST", MANAGE),
    "patients:consent_new": ("GET", MANAGE),
    "patients:consent_revoke": ("POST", MANAGE),
    "patients:portal_invite": ("POST", MANAGE),
    # The plan: the team and clinicians consented for "plan" (the personas' consent is for
    # medications and measures only); therapists, prescribers and care managers edit.
    "plans:plan": ("GET", TEAM),
    "plans:create": ("POST", EDITORS),
    "plans:edit_section": ("GET", EDITORS),
    "plans:status": ("POST", EDITORS),
    "plans:revisions": ("GET", TEAM),
    "plans:revision": ("GET", TEAM),
    "plans:diff": ("GET", TEAM),
    "plans:restore": ("POST", EDITORS),
    "plans:acknowledge": ("POST", TEAM),
    "plans:comment": ("POST", TEAM),
    "plans:propose": ("GET", TEAM),
    "plans:decide": ("POST", EDITORS),
    "plans:answer": ("POST", TEAM),
    "plans:safety": ("GET", TEAM),
    "plans:safety_print": ("GET", TEAM),
    "plans:safety_edit": ("GET", EDITORS),
    "patients:timeline": ("GET", RECORD),
    # Medications: the team and clinicians consented for medications read; the prescriber prescribes.
    "medications:list": ("GET", TEAM | {"consented"}),
    "medications:detail": ("GET", TEAM | {"consented"}),
    "medications:start": ("GET", {"prescriber"}),
    "medications:change": ("GET", {"prescriber"}),
    "medications:side_effects": ("GET", TEAM | {"consented"}),
    "medications:labs": ("GET", TEAM | {"consented"}),
    "medications:fills": ("GET", TEAM | {"consented"}),
    "medications:fills_import": ("POST", EDITORS),
    "medications:adherence": ("GET", TEAM | {"consented"}),
    "medications:lab_record": ("POST", TEAM),
    "medications:side_effect": ("GET", TEAM | {"consented"}),
    # Alerts: the care team only (not consented outsiders, not the org admin).
    "collab:patient_alerts": ("GET", TEAM),
    "collab:acknowledge": ("POST", TEAM),
    "collab:resolve": ("POST", TEAM),
    # The JSON API with the browser session (token auth and writes: tandem/plans/tests/test_api.py).
    "api:plan_list": ("GET", TEAM),
    "api:plan_detail": ("GET", TEAM),
    "api:plan_revisions": ("GET", TEAM),
    "api:plan_revision": ("GET", TEAM),
    "api:plan_diff": ("GET", TEAM),
}
# API writes, tested with tokens, scopes and every persona in tandem/plans/tests/test_api.py.
API_WRITES = {"api:plan_create", "api:plan_revise", "api:plan_acknowledge", "api:dose_log"}
PUBLIC_API = {"api:openapi-json", "api:api-root", "api:openapi-view"}
TAB_ALLOWED = {
    "plan": TEAM,
    "medications": TEAM | {"consented"},
    "therapy": TEAM,
    "measures": TEAM | {"consented"},
    "messages": TEAM,
}

# An app may place its own URLs in `tandem/<app>/tests/matrix.py`: dictionaries or sets named
# like the classes above (PATIENT_SCOPED, PORTAL, PORTAL_POST, PORTAL_OWN_OBJECT, PORTAL_KWARGS,
# TOKEN, CLINICIAN_ONLY, API_WRITES, ORG_ADMIN, ORG_ADMIN_KWARGS) and `kwargs(personas, name) -> dict | None` building the
# URL arguments of its own patient-scoped URLs (None: not one of mine).
MATRIX_KWARGS = []
for _config in apps.get_app_configs():
    if not _config.name.startswith("tandem."):
        continue
    try:
        _matrix = importlib.import_module(f"{_config.name}.tests.matrix")
    except ModuleNotFoundError as _exc:
        if _exc.name not in (f"{_config.name}.tests.matrix", f"{_config.name}.tests"):
            raise
        continue
    PATIENT_SCOPED.update(getattr(_matrix, "PATIENT_SCOPED", {}))
    PORTAL |= set(getattr(_matrix, "PORTAL", set()))
    PORTAL_KWARGS.update(getattr(_matrix, "PORTAL_KWARGS", {}))
    PORTAL_POST |= set(getattr(_matrix, "PORTAL_POST", set()))
    PORTAL_OWN_OBJECT |= set(getattr(_matrix, "PORTAL_OWN_OBJECT", set()))
    TOKEN |= set(getattr(_matrix, "TOKEN", set()))
    CLINICIAN_ONLY.update(getattr(_matrix, "CLINICIAN_ONLY", {}))
    API_WRITES |= set(getattr(_matrix, "API_WRITES", set()))
    ORG_ADMIN.update(getattr(_matrix, "ORG_ADMIN", {}))
    ORG_ADMIN_KWARGS.update(getattr(_matrix, "ORG_ADMIN_KWARGS", {}))
    if hasattr(_matrix, "kwargs"):
        MATRIX_KWARGS.append(_matrix.kwargs)


def all_url_names() -> Iterator[str]:
    def walk(patterns: list, namespace: str | None) -> Iterator[str]:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                yield from walk(p.url_patterns, ns)
            elif isinstance(p, URLPattern):
                assert p.name, f"URL {p.pattern} has no name, so the access matrix cannot place it"
                yield f"{namespace}:{p.name}" if namespace else p.name

    yield from walk(get_resolver().url_patterns, None)


def test_every_url_is_in_the_matrix():
    placed = (
        PUBLIC
        | OWN_ACCOUNT
        | set(CLINICIAN_ONLY)
        | PORTAL
        | PORTAL_POST
        | PORTAL_OWN_OBJECT
        | TOKEN
        | API_WRITES
        | PUBLIC_API
        | set(ORG_ADMIN)
        | set(PATIENT_SCOPED)
        | {"patients:tab"}
    )
    unplaced = sorted(set(all_url_names()) - placed)
    assert not unplaced, f"URLs not in the access matrix: {unplaced}"
    assert set(TAB_ALLOWED) == set(TABS)


def _plan_objects(personas) -> dict:
    """A plan of Pat's with a second revision, an open proposal and a question."""
    from tandem.plans import actions

    plan = actions.do_create_plan(
        personas.patient,
        acting_user=personas.prescriber,
        content={"goals": [{"key": "g1", "kind": "patient", "text": "Sleep better"}]},
    )
    actions.do_set_plan_status(plan, "active", acting_user=personas.prescriber)
    actions.do_revise_plan(
        plan, content={"goals": []}, reason="r", acting_user=personas.prescriber, base_revision=1
    )
    proposal = actions.do_propose(
        plan,
        section="goals",
        content=[{"kind": "patient", "text": "Walk"}],
        reason="r",
        acting_user=personas.consultant,
        base_revision=2,
    )
    question = actions.do_patient_question(
        plan, patient=personas.patient, text="Why?", acting_user=personas.patient_user
    )
    return {"plan_id": plan.pk, "proposal_id": proposal.pk, "question_id": question.pk}


def _kwargs(personas, name: str) -> dict:
    for app_kwargs in MATRIX_KWARGS:
        found = app_kwargs(personas, name)
        if found is not None:
            return found
    kwargs: dict = {"patient_id": personas.patient.pk}
    if name.startswith("plans:safety"):
        return {**kwargs, "kind": "safety"}
    if name == "medications:side_effect":
        from tandem.medications.side_effect_actions import do_report_side_effect

        report, _ = do_report_side_effect(
            personas.patient,
            regimen=None,
            frequency=2,
            intensity=2,
            burden=2,
            symptoms=["nausea"],
            text="",
            idempotency_key="matrix-000001",
            acting_user=personas.patient_user,
        )
        return {**kwargs, "report_id": report.pk}
    if name in ("medications:detail", "medications:change"):
        from tandem.medications.actions import do_start_regimen

        regimen = do_start_regimen(
            personas.patient,
            drug_key="sertraline",
            drug_name="sertraline",
            drug_classes=["ssri"],
            dose_amount=50,
            times=["08:00"],
            reason="Start",
            acting_user=personas.prescriber,
        )
        return {**kwargs, "regimen_id": regimen.pk}
    if name in ("collab:acknowledge", "collab:resolve"):
        from tandem.collab.actions import do_raise_alert

        alert, _ = do_raise_alert(
            personas.patient,
            kind="test",
            severity="high",
            title="t",
            reason="r",
            rule_id="test",
            dedup_key="k",
            route_to=["prescriber"],
        )
        return {**kwargs, "alert_id": alert.pk}
    if (name.startswith("plans:") or name.startswith("api:plan_")) and name not in (
        "plans:plan",
        "plans:create",
        "api:plan_list",
    ):
        objects = _plan_objects(personas)
        kwargs["plan_id"] = objects["plan_id"]
        if name in ("plans:edit_section", "plans:propose"):
            kwargs["section"] = "goals"
        if name in ("plans:revision", "plans:restore", "api:plan_revision"):
            kwargs["number"] = 1
        if name == "plans:decide":
            kwargs["proposal_id"] = objects["proposal_id"]
        if name == "plans:answer":
            kwargs["question_id"] = objects["question_id"]
    if name == "patients:team_end":
        kwargs["member_id"] = CareTeamMember.objects.get(
            patient=personas.patient, user=personas.care_manager
        ).pk
    if name == "patients:consent_revoke":
        kwargs["consent_id"] = personas.consent.pk
    return kwargs


def _request(client, method: str, url: str):
    if method == "POST":
        return client.post(
            url,
            {
                "reason": "Patient asked to stop sharing",
                "text": "A comment",
                "revision": 2,
                "decision": "decline",
                "answer": "Because",
                "base_revision": 2,
                "status": "active",
            },
        )
    return client.get(url)


def _assert_denied_and_audited(response, before: int) -> None:
    assert response.status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, seq__gt=before).exists(), (
        "denial was not audited"
    )


def _last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("name", sorted(PATIENT_SCOPED))
def test_patient_urls(personas, name, persona):
    method, allowed = PATIENT_SCOPED[name]
    url = reverse(name, kwargs=_kwargs(personas, name))
    before = _last_seq()
    response = _request(personas.client_for(persona), method, url)
    if persona in allowed:
        if method == "POST":  # allowed: done (302) or refused for its input (400), never hidden
            assert response.status_code in (302, 400), (name, persona, response.status_code)
        else:
            assert response.status_code == 200, (name, persona)
    else:
        _assert_denied_and_audited(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("tab", sorted(TAB_ALLOWED))
def test_patient_tabs(personas, tab, persona):
    url = reverse("patients:tab", kwargs={"patient_id": personas.patient.pk, "tab": tab})
    before = _last_seq()
    response = personas.client_for(persona).get(url)
    if persona in TAB_ALLOWED[tab]:
        assert response.status_code == 200
    else:
        _assert_denied_and_audited(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
def test_the_other_patients_record(personas, persona):
    """Oli is on the colleague's caseload only; Pat's team and the consented clinician see nothing."""
    url = reverse("patients:detail", kwargs={"patient_id": personas.other_patient.pk})
    before = _last_seq()
    response = personas.client_for(persona).get(url)
    if persona in {"colleague", "org_admin"}:
        assert response.status_code == 200
    else:
        _assert_denied_and_audited(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("name", sorted(PORTAL))
def test_portal_urls(personas, name, persona):
    before = _last_seq()
    response = personas.client_for(persona).get(reverse(name, kwargs=PORTAL_KWARGS.get(name, {})))
    if persona == "patient":
        assert response.status_code == 200
        assert "Oli" not in response.content.decode()
    elif persona == "other_patient":
        assert response.status_code == 200
        assert "Pat Patient" not in response.content.decode()
    else:
        _assert_denied_and_audited(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("name", sorted(ORG_ADMIN))
def test_org_admin_urls(personas, name, persona):
    kwargs = ORG_ADMIN_KWARGS[name](personas) if name in ORG_ADMIN_KWARGS else {}
    method = ORG_ADMIN[name]
    before = _last_seq()
    response = _request(personas.client_for(persona), method, reverse(name, kwargs=kwargs))
    if persona == "org_admin":
        assert response.status_code == (302 if method == "POST" else 200)
    else:
        _assert_denied_and_audited(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("name", sorted(CLINICIAN_ONLY))
def test_clinician_urls(personas, name, persona):
    before = _last_seq()
    response = personas.client_for(persona).get(reverse(name))
    if persona in CLINICIANS:
        assert response.status_code == 200
    else:
        _assert_denied_and_audited(response, before)


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_login(personas, client):
    protected = [
        reverse(n) for n in ("home", "patients:list", "portal:home", "manage:members", "audit:org_log")
    ]
    protected.append(reverse("patients:detail", kwargs={"patient_id": personas.patient.pk}))
    for url in protected:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.django_db
def test_a_team_member_cannot_end_another_patients_team_row_through_their_own_patient(personas):
    """An id of another patient's row under a patient the user may manage is still not found."""
    row = CareTeamMember.objects.get(patient=personas.other_patient)
    url = reverse("patients:team_end", kwargs={"patient_id": personas.patient.pk, "member_id": row.pk})
    response = personas.client_for("therapist").post(url)
    assert response.status_code == 404
    row.refresh_from_db()
    assert row.end is None


@pytest.mark.django_db
def test_an_admin_of_another_organisation_cannot_deactivate_a_member(personas):
    from tandem.accounts.models import Membership, Role
    from tandem.lib.testing import make_user

    other_admin = make_user("admin@lakeside.test", "Lake Admin", personas.other_org, Role.ORG_ADMIN)
    client = personas.client_for(other_admin)
    response = client.post(reverse("manage:member_deactivate", kwargs={"user_id": personas.therapist.pk}))
    assert response.status_code == 404
    assert Membership.objects.get(user=personas.therapist).is_active


@pytest.mark.django_db
def test_malformed_and_missing_ids_are_404_not_500(personas):
    client = personas.client_for("therapist")
    for url in [
        "/patients/abc/",
        "/patients/0/",
        "/patients/99999999999999999999999/",
        "/patients/-1/",
        "/patients/999999/",
        f"/patients/{personas.patient.pk}/nonsense-tab/",
        f"/patients/{personas.patient.pk}/team/99999999999999999999/end/",
    ]:
        response = client.get(url) if "end" not in url else client.post(url)
        assert response.status_code == 404, url


@pytest.mark.django_db
def test_a_revoked_or_ended_consent_grants_nothing(personas):
    from django.utils import timezone

    url = reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    client = personas.client_for("consented")
    assert client.get(url).status_code == 200
    Consent.objects.filter(pk=personas.consent.pk).update(revoked_at=timezone.now())
    assert client.get(url).status_code == 404
    Consent.objects.filter(pk=personas.consent.pk).update(
        revoked_at=None, end=timezone.localdate() - timezone.timedelta(days=1)
    )
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_a_consent_to_an_organisation_reaches_its_clinicians_only(personas):
    from tandem.patients.models import Category

    Consent.objects.create(
        patient=personas.other_patient,
        grantee_organisation=personas.other_org,
        categories=[Category.PLAN],
        start=personas.consent.start,
    )
    url = reverse("patients:tab", kwargs={"patient_id": personas.other_patient.pk, "tab": "plan"})
    assert personas.client_for("outsider").get(url).status_code == 200
    url = reverse("patients:tab", kwargs={"patient_id": personas.other_patient.pk, "tab": "medications"})
    assert personas.client_for("outsider").get(url).status_code == 404


@pytest.mark.django_db
def test_a_former_team_member_loses_access(personas):
    from django.utils import timezone

    CareTeamMember.objects.filter(patient=personas.patient, user=personas.therapist).update(
        end=timezone.localdate() - timezone.timedelta(days=1)
    )
    url = reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    assert personas.client_for("therapist").get(url).status_code == 404


@pytest.mark.django_db
def test_a_patient_withdraws_a_consent_and_the_grantee_loses_access_at_once(personas):
    url = reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    assert personas.client_for("consented").get(url).status_code == 200
    revoke = reverse("portal:consent_revoke", kwargs={"consent_id": personas.consent.pk})
    assert personas.client_for("other_patient").post(revoke).status_code == 404
    assert personas.client_for("consented").get(url).status_code == 200
    assert personas.client_for("patient").post(revoke).status_code == 302
    assert personas.client_for("consented").get(url).status_code == 404
    event = AuditEvent.objects.filter(entity_type="Consent", action="update").latest("seq")
    assert event.actor == personas.patient_user and event.actor_role == "patient"
