"""Who reaches what through /fhir/: bearer tokens and their scopes, the same policy as the UI
persona by persona (care team, consent categories, break-glass, org admin, the patient's own
record), the same 404 for missing and forbidden, and the audit rows of every read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tandem.accounts.models import ApiToken
from tandem.audit.models import Action, AuditEvent, Outcome
from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible_patients
from tandem.fhir.registry import REGISTRY
from tandem.fhir.tests.helpers import Fhir, build_world, fhir_as, ids, token_for, world_modules
from tandem.patients.access import RECORD, grant_for
from tandem.patients.models import ALL_CATEGORIES, BreakGlass, Patient

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
EVERYONE = TEAM | {"org_admin", "patient", "other_patient", "colleague", "outsider", "consented"}
# Whose resources of each type each persona sees, written out by hand from the policy.
SEES_PAT = {
    "Patient": TEAM | {"org_admin", "consented", "patient"},
    "Consent": TEAM | {"org_admin", "consented", "patient"},
    "CareTeam": TEAM | {"org_admin", "consented", "patient"},
    "CarePlan": TEAM | {"patient"},
    "QuestionnaireResponse": TEAM | {"consented", "patient"},
    "Observation": TEAM | {"consented", "patient"},
    "Flag": TEAM,
}
for _module in world_modules():
    SEES_PAT.update(getattr(_module, "SEES_PAT", {}))


def patient_refs(resource: dict) -> set[str]:
    """The patients a resource is about: subject, patient, for (Task), participant actors
    (Appointment), or the Patient itself."""
    if resource["resourceType"] == "Patient":
        return {f"Patient/{resource['id']}"}
    refs = {(resource.get(key) or {}).get("reference") for key in ("subject", "patient", "for")} | {
        (p.get("actor") or {}).get("reference") for p in resource.get("participant", [])
    }
    return {ref for ref in refs if ref and ref.startswith("Patient/")}


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
def test_each_persona_sees_exactly_what_the_ui_shows(personas, persona):
    build_world(personas)
    api = fhir_as(personas, persona)
    pat = f"Patient/{personas.patient.pk}"
    for name, allowed in SEES_PAT.items():
        bundle = api.get(name).json()
        subjects = {ref for e in bundle.get("entry", []) for ref in patient_refs(e["resource"])}
        assert (pat in subjects) == (persona in allowed), (name, persona, subjects)
        # Nobody outside the home organisation reaches Oli; the patients only themselves.
        oli = f"Patient/{personas.other_patient.pk}"
        if persona in {"outsider", "consented", "patient"} | TEAM:
            assert oli not in subjects, (name, persona)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("need", sorted({RECORD, *ALL_CATEGORIES}))
def test_the_search_policy_agrees_with_grant_for(personas, persona, need):
    user = personas.all()[persona]
    token = ApiToken(user=user, scopes="user/*.read")
    own = Patient.objects.filter(portal_user=user).first()
    caller = Caller(user=user, token=token, own_patient=own)
    found = set(visible_patients(caller, need).values_list("id", flat=True))
    expected = set()
    for patient in (personas.patient, personas.other_patient):
        grant = grant_for(user, patient, portal=True) or grant_for(user, patient)
        if grant is not None and grant.allows(need):
            expected.add(patient.pk)
    assert found == expected


@pytest.mark.django_db
def test_a_read_of_a_forbidden_record_is_the_404_of_a_missing_one_and_audited(personas):
    world = build_world(personas)
    api = fhir_as(personas, "outsider")
    before = last_seq()
    forbidden = api.get(f"QuestionnaireResponse/{world.pat_responses[0].pk}")
    missing = api.get("QuestionnaireResponse/987654")
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content
    assert forbidden.json()["resourceType"] == "OperationOutcome"
    denials = AuditEvent.objects.filter(
        seq__gt=before, outcome=Outcome.DENIED, entity_type="QuestionnaireResponse"
    )
    assert denials.count() == 2


@pytest.mark.django_db
def test_a_consented_clinician_reads_measures_but_not_the_plan(personas):
    world = build_world(personas)
    api = fhir_as(personas, "consented")
    assert api.get(f"Observation/score-{world.pat_responses[0].pk}").status_code == 200
    assert api.get(f"CarePlan/{world.plan.pk}").status_code == 404
    assert ids(api.get("Goal", {"patient": personas.patient.pk}).json()) == []
    assert api.get("Flag").json()["total"] == 0


@pytest.mark.django_db
def test_break_glass_opens_the_record_as_in_the_ui_and_ends_with_it(personas):
    world = build_world(personas)
    api = fhir_as(personas, "colleague")
    url = f"CarePlan/{world.plan.pk}"
    assert api.get(url).status_code == 404
    glass = BreakGlass.objects.create(
        patient=personas.patient,
        user=personas.colleague,
        reason="ED call",
        expires_at=timezone.now() + timedelta(hours=4),
    )
    assert api.get(url).status_code == 200
    assert api.get("Flag").json()["total"] == 1
    event = AuditEvent.objects.filter(entity_type="Flag", action=Action.READ).latest("seq")
    assert event.extra["basis"] == "break_glass"
    BreakGlass.objects.filter(pk=glass.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert api.get(url).status_code == 404


@pytest.mark.django_db
def test_a_search_is_audited_once_per_patient_touched(personas):
    build_world(personas)
    api = fhir_as(personas, "org_admin")
    before = last_seq()
    bundle = api.get("Patient").json()
    assert bundle["total"] == 2
    rows = AuditEvent.objects.filter(seq__gt=before, action=Action.READ, entity_type="Patient")
    assert sorted(rows.values_list("patient_id", flat=True)) == sorted(
        [personas.patient.pk, personas.other_patient.pk]
    )
    assert {r.extra["basis"] for r in rows} == {"admin"}
    assert {r.actor_id for r in rows} == {personas.org_admin.pk}
    from tandem.audit.verify import verify_chain  # the rows written together keep the chain intact

    assert verify_chain()[1] == []


@pytest.mark.django_db
def test_a_probe_for_another_patient_returns_nothing_and_is_audited(personas):
    build_world(personas)
    api = fhir_as(personas, "outsider")
    before = last_seq()
    bundle = api.get("Observation", {"patient": personas.patient.pk}).json()
    assert bundle["total"] == 0 and "entry" not in bundle
    denial = AuditEvent.objects.get(seq__gt=before, outcome=Outcome.DENIED)
    assert denial.patient_id == personas.patient.pk and denial.entity_type == "Observation"
    assert api.get("Patient", {"_id": personas.patient.pk}).json()["total"] == 0
    assert api.get("Patient", {"identifier": "RC-1"}).json()["total"] == 0


@pytest.mark.django_db
def test_no_token_a_bad_token_revoked_or_expired_is_401(personas):
    assert Fhir(None).get("Patient").status_code == 401
    response = Fhir("tdm_not-a-real-token").get("Patient")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response.json()["issue"][0]["code"] == "login"
    raw = token_for(personas.therapist)
    assert Fhir(raw).get("Patient").status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Fhir(raw).get("Patient").status_code == 401
    ApiToken.objects.update(expires_at=None, revoked_at=timezone.now())
    assert Fhir(raw).get("Patient").status_code == 401
    assert AuditEvent.objects.filter(entity_type="ApiToken", outcome=Outcome.DENIED).count() == 3


@pytest.mark.django_db
def test_a_browser_session_is_not_enough(personas):
    """The FHIR views are CSRF-exempt because a session never authenticates them: a cross-site
    POST carrying the clinician's cookies is refused like any request without a token."""
    from tandem.measures.models import InstrumentResponse

    client = personas.client_for("therapist")
    assert client.get("/fhir/Patient").status_code == 401
    posted = client.post("/fhir/QuestionnaireResponse", data=b"{}", content_type="application/fhir+json")
    assert posted.status_code == 401
    assert not InstrumentResponse.objects.exists()


@pytest.mark.django_db
def test_scopes_limit_the_token_to_its_types_and_interactions(personas):
    world = build_world(personas)
    api = Fhir(token_for(personas.therapist, "user/Observation.rs"))
    assert api.get("Observation").status_code == 200
    assert api.get(f"Observation/score-{world.pat_responses[0].pk}").status_code == 200
    forbidden = api.get("Patient")
    assert forbidden.status_code == 403
    assert "user/Patient" in forbidden.json()["issue"][0]["diagnostics"]
    assert api.get(f"Patient/{personas.patient.pk}").status_code == 403
    only_read = Fhir(token_for(personas.therapist, "user/Observation.r"))
    assert only_read.get("Observation").status_code == 403
    # An include of a type the token may not read is left out.
    bundle = api.get("Observation", {"_include": "Observation:patient"}).json()
    assert ids(bundle, "include") == []


@pytest.mark.django_db
def test_a_patient_token_with_patient_scopes_reads_only_their_own_record(personas):
    build_world(personas)
    api = Fhir(token_for(personas.patient_user, "patient/*.read"))
    assert ids(api.get("Patient").json()) == [str(personas.patient.pk)]
    assert api.get(f"Patient/{personas.other_patient.pk}").status_code == 404
    assert api.get("QuestionnaireResponse").json()["total"] == 3
    clinician = Fhir(token_for(personas.therapist, "patient/*.read"))
    assert clinician.get("Patient").status_code == 403


@pytest.mark.django_db
def test_the_audit_log_is_the_patients_own_or_the_org_admins(personas):
    build_world(personas)
    fhir_as(personas, "therapist").get(f"Patient/{personas.patient.pk}")
    mine = fhir_as(personas, "patient").get("AuditEvent").json()
    patients = {
        e["what"].get("reference") for entry in mine["entry"] for e in entry["resource"].get("entity", [])
    }
    assert f"Patient/{personas.patient.pk}" in patients
    assert f"Patient/{personas.other_patient.pk}" not in patients
    assert fhir_as(personas, "therapist").get("AuditEvent").json()["total"] == 0
    assert fhir_as(personas, "outsider").get("AuditEvent").json()["total"] == 0
    assert fhir_as(personas, "org_admin").get("AuditEvent").json()["total"] > 0
    assert AuditEvent.objects.filter(entity_type="AuditLog", actor=personas.patient_user).exists()


@pytest.mark.django_db
def test_no_resource_carries_the_authors_private_notes(personas):
    from tandem.notes.tests.helpers import private_note

    build_world(personas)
    private_note(personas.patient, personas.therapist, "WORDS-ONLY-THE-AUTHOR-READS")
    api = fhir_as(personas, "therapist")  # the author, with every read scope
    for name in REGISTRY:
        query = {"patient": personas.patient.pk} if name in ("Goal", "Condition") else {}
        body = api.get(name, query).content.decode()
        assert "WORDS-ONLY-THE-AUTHOR-READS" not in body, name
    assert "psychotherapy" not in api.get("metadata").content.decode().lower()
