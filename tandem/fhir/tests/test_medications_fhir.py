"""The medication types: MedicationRequest, MedicationStatement, MedicationDispense,
MedicationAdministration, AdverseEvent and DetectedIssue — each search parameter (date prefixes
at their boundaries), _include, _sort, and the two creates (fills for PDC, doses the patient
took) with If-None-Exist, retries, bad input and who may write."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tandem.fhir.tests.helpers import Fhir, build_world, fhir_as, ids, token_for
from tandem.fhir.tests.world_medications import recent_doses, start
from tandem.lib.timezones import local_date
from tandem.medications.actions import advance_regimens, do_plan_steps, do_start_regimen
from tandem.medications.fills import patient_pdc
from tandem.medications.models import DoseLog, Fill, OrgDrug, RegimenVersion, SideEffectReport
from tandem.medications.titration import Step

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
MR, MS, MD, MA = "MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration"


@pytest.fixture
def meds(personas):
    return build_world(personas).extra["medications"]


def found(api, name, params) -> list[str]:
    response = api.get(name, params)
    assert response.status_code == 200, response.content
    return sorted(ids(response.json()))


def pk(*rows) -> list[str]:
    return sorted(str(r.pk) for r in rows)


def day(days_ago: int) -> str:
    """A local day of the server's zone, as date searches read it."""
    return (timezone.localdate() - timedelta(days=days_ago)).isoformat()


def pat_day(personas, days_ago: int) -> str:
    """A day of the patient's calendar (fills are dated in it)."""
    return (local_date(timezone.now(), personas.patient.time_zone) - timedelta(days=days_ago)).isoformat()


# --- MedicationRequest and MedicationStatement -------------------------------------------------


@pytest.mark.django_db
def test_medication_request_params(personas, meds):
    api = fhir_as(personas, "therapist")
    everyone = pk(*(meds[k] for k in ("citalopram", "sertraline", "tramadol", "hydroxyzine", "lithium")))
    for param in ("patient", "subject"):
        assert found(api, MR, {param: f"Patient/{personas.patient.pk}"}) == everyone
    assert found(api, MR, {"patient": personas.other_patient.pk}) == []
    assert found(api, MR, {"status": "active"}) == pk(
        meds["sertraline"], meds["hydroxyzine"], meds["lithium"]
    )
    assert found(api, MR, {"status": "on-hold"}) == pk(meds["tramadol"])
    assert found(api, MR, {"status": "stopped"}) == pk(meds["citalopram"])
    assert found(api, MR, {"status": "completed,draft"}) == []
    assert found(api, MR, {"intent": "order"}) == everyone
    assert found(api, MR, {"intent": "plan"}) == []
    assert found(api, MR, {"code": f"{RX}|36437"}) == pk(meds["sertraline"])
    assert found(api, MR, {"code": "6448"}) == pk(meds["lithium"])
    assert found(api, MR, {"code": "http://snomed.info/sct|36437"}) == []
    sertraline = api.get(f"{MR}/{meds['sertraline'].pk}").json()
    assert (
        sertraline["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 100
    )  # the increase
    assert sertraline["dosageInstruction"][0]["timing"]["repeat"]["timeOfDay"] == ["08:00:00", "20:00:00"]
    assert sertraline["requester"] == {"reference": f"Practitioner/{personas.prescriber.pk}"}
    assert sertraline["reasonCode"] == [{"text": "Depression"}]
    assert api.get(f"{MR}/{meds['tramadol'].pk}").json()["statusReason"] == {"text": "Pain settled"}
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert found(api, MR, {"_lastUpdated": f"gt{tomorrow}"}) == []
    assert found(api, MR, {"_lastUpdated": f"lt{tomorrow}"}) == everyone


@pytest.mark.django_db
def test_authoredon_prefixes_at_their_boundaries(personas, meds):
    march = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    for regimen in meds.values():
        if hasattr(regimen, "current_id"):
            regimen.refresh_from_db()
    RegimenVersion.objects.filter(pk=meds["sertraline"].current_id).update(created_at=march)
    RegimenVersion.objects.filter(pk=meds["citalopram"].current_id).update(
        created_at=march - timedelta(days=60)
    )
    api = fhir_as(personas, "prescriber")
    sertraline, citalopram = pk(meds["sertraline"]), pk(meds["citalopram"])
    recent = pk(meds["tramadol"], meds["hydroxyzine"], meds["lithium"])
    local = timezone.localtime(march).date().isoformat()
    assert found(api, MR, {"authoredon": local}) == sertraline
    assert found(api, MR, {"authoredon": f"eq{local}"}) == sertraline
    assert found(api, MR, {"authoredon": f"lt{local}"}) == citalopram
    assert found(api, MR, {"authoredon": f"le{local}"}) == sorted(citalopram + sertraline)
    assert found(api, MR, {"authoredon": f"gt{local}"}) == recent
    assert found(api, MR, {"authoredon": f"ge{local}"}) == sorted(sertraline + recent)
    assert found(api, MR, {"authoredon": f"ne{local}"}) == sorted(citalopram + recent)
    assert found(api, MR, {"authoredon": "2024-01"}) == citalopram
    assert found(api, MR, {"authoredon": march.isoformat()}) == sertraline
    assert found(api, MR, {"authoredon": f"gt{march.isoformat()}"}) == recent
    order = ids(api.get(MR, {"_sort": "authoredon"}).json())
    assert order[:2] == [str(meds["citalopram"].pk), str(meds["sertraline"].pk)]
    assert ids(api.get(MR, {"_sort": "-authoredon"}).json())[-2:] == order[:2][::-1]
    assert api.get(MR, {"authoredon": "ap2024"}).status_code == 400


@pytest.mark.django_db
def test_includes_bring_the_patient_and_the_prescriber(personas, meds):
    api = fhir_as(personas, "therapist")
    bundle = api.get(MR, [("_include", f"{MR}:patient"), ("_include", f"{MR}:requester")]).json()
    assert sorted(ids(bundle, "include")) == sorted([str(personas.patient.pk), str(personas.prescriber.pk)])
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"] if e["search"]["mode"] == "include"}
    assert kinds == {"Patient", "Practitioner"}
    assert api.get(MR, {"_include": f"{MR}:medication"}).status_code == 400


@pytest.mark.django_db
def test_a_taper_run_to_its_end_is_completed(personas, meds):
    lithium = meds["lithium"]
    tomorrow = timezone.localdate() + timedelta(days=1)
    do_plan_steps(lithium, [Step(tomorrow, None, 0, "Stop")], reason="Taper", acting_user=personas.prescriber)
    api = fhir_as(personas, "prescriber")
    assert api.get(f"{MR}/{lithium.pk}").json()["status"] == "active"  # the stop is still ahead
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        advance_regimens(timezone.now())
        assert api.get(f"{MR}/{lithium.pk}").json()["status"] == "completed"
        assert found(api, MR, {"status": "completed"}) == pk(lithium)
        assert found(api, MR, {"status": "stopped"}) == pk(meds["citalopram"])
        assert api.get(f"{MS}/{lithium.pk}").json()["status"] == "completed"


@pytest.mark.django_db
def test_medication_statement_params_and_effective_periods(personas, meds):
    api = fhir_as(personas, "consented")
    current = pk(meds["sertraline"], meds["tramadol"], meds["hydroxyzine"], meds["lithium"])
    assert found(api, MS, {"patient": personas.patient.pk}) == sorted(current + pk(meds["citalopram"]))
    assert found(api, MS, {"status": "active,on-hold"}) == current
    assert found(api, MS, {"code": f"{RX}|4493"}) == []  # fluoxetine: Oli's, not seen
    statement = api.get(f"{MS}/{meds['citalopram'].pk}").json()
    assert statement["basedOn"] == [{"reference": f"{MR}/{meds['citalopram'].pk}"}]
    assert {"start", "end"} <= set(statement["effectivePeriod"])
    # Citalopram: 90 to 40 days ago; sertraline from 30 days ago; the others within 20 days.
    assert found(api, MS, {"effective": f"ge{day(35)}"}) == current
    assert found(api, MS, {"effective": f"le{day(60)}"}) == pk(meds["citalopram"])
    assert found(api, MS, {"effective": f"lt{day(25)}"}) == pk(meds["citalopram"], meds["sertraline"])
    assert found(api, MS, {"effective": f"eb{day(38)}"}) == pk(meds["citalopram"])
    assert found(api, MS, {"effective": f"sa{day(25)}"}) == pk(
        meds["tramadol"], meds["hydroxyzine"], meds["lithium"]
    )
    assert found(api, MS, {"effective": f"gt{day(0)}"}) == current
    assert found(api, MS, {"effective": day(50)}) == []  # no period lies within that one day
    assert found(api, MS, {"effective": f"ne{day(50)}"}) == sorted(current + pk(meds["citalopram"]))
    assert ids(api.get(MS, {"_sort": "effective"}).json())[0] == str(meds["citalopram"].pk)


@pytest.mark.django_db
def test_an_organisations_own_drug_carries_its_rxnorm_code(personas, meds):
    own = OrgDrug.objects.create(
        organisation=personas.home,
        name="Lithium citrate solution",
        classes=["mood_stabiliser"],
        rxnorm="197889",
    )
    regimen = do_start_regimen(
        personas.patient,
        drug_key=own.key,
        drug_name=own.name,
        drug_classes=own.classes,
        dose_amount=5,
        dose_unit="mL",
        times=["08:00"],
        reason="Cannot swallow tablets",
        acting_user=personas.prescriber,
    )
    api = fhir_as(personas, "prescriber")
    concept = api.get(f"{MR}/{regimen.pk}").json()["medicationCodeableConcept"]
    assert concept["coding"][0] == {"system": RX, "code": "197889", "display": own.name}
    assert found(api, MR, {"code": f"{RX}|197889"}) == pk(regimen)
    assert found(api, MS, {"code": own.key}) == pk(regimen)
    posted = api.post(
        MD, dispense(personas, medicationCodeableConcept={"coding": [{"system": RX, "code": "197889"}]})
    )
    assert posted.status_code == 201, posted.content
    assert Fill.objects.get(pk=posted.json()["id"]).regimen == regimen


# --- MedicationDispense and MedicationAdministration (read) -----------------------------------


@pytest.mark.django_db
def test_medication_dispense_params(personas, meds):
    api = fhir_as(personas, "care_manager")
    old, new = meds["fills"]
    assert found(api, MD, {"patient": personas.patient.pk, "status": "completed"}) == pk(old, new)
    assert found(api, MD, {"status": "in-progress"}) == []
    assert found(api, MD, {"code": "36437"}) == pk(old, new)
    assert found(api, MD, {"code": f"{RX}|6448"}) == []
    assert found(api, MD, {"whenhandedover": pat_day(personas, 5)}) == pk(new)
    assert found(api, MD, {"whenhandedover": f"lt{pat_day(personas, 5)}"}) == pk(old)
    assert found(api, MD, {"whenhandedover": f"le{pat_day(personas, 5)}"}) == pk(old, new)
    assert found(api, MD, {"whenhandedover": f"gt{pat_day(personas, 35)}"}) == pk(new)
    assert found(api, MD, {"whenhandedover": f"ge{pat_day(personas, 35)}"}) == pk(old, new)
    assert found(api, MD, {"identifier": "urn:pharmacy|RX-1"}) == pk(new)
    assert found(api, MD, {"identifier": "RX-1"}) == pk(new)
    assert found(api, MD, {"identifier": "urn:other|RX-1"}) == []
    assert found(api, MD, {"prescription": f"{MR}/{meds['sertraline'].pk}"}) == pk(old, new)
    assert ids(api.get(MD, {"_sort": "whenhandedover"}).json()) == [str(old.pk), str(new.pk)]
    bundle = api.get(MD, {"_include": f"{MD}:prescription"}).json()
    assert ids(bundle, "include") == [str(meds["sertraline"].pk)]
    dispense = api.get(f"{MD}/{new.pk}").json()
    assert dispense["daysSupply"]["value"] == 30 and dispense["whenHandedOver"] == pat_day(personas, 5)
    assert dispense["identifier"] == [{"system": "urn:pharmacy", "value": "RX-1"}]
    assert "identifier" not in api.get(f"{MD}/{old.pk}").json()  # a form key is no identifier


@pytest.mark.django_db
def test_medication_administration_params(personas, meds):
    api = fhir_as(personas, "patient")
    taken, skipped, prn = meds["taken"], meds["skipped"], meds["prn"]
    assert found(api, MA, {"subject": personas.patient.pk}) == pk(taken, skipped, prn)
    assert found(api, MA, {"status": "completed"}) == pk(taken, prn)
    assert found(api, MA, {"status": "not-done"}) == pk(skipped)
    assert found(api, MA, {"code": f"{RX}|5553"}) == pk(prn)
    assert found(api, MA, {"request": f"{MR}/{meds['sertraline'].pk}"}) == pk(taken, skipped)
    moment = skipped.due_at.isoformat()
    assert found(api, MA, {"effective-time": moment}) == pk(skipped)
    assert found(api, MA, {"effective-time": f"le{moment}"}) == pk(skipped)
    assert found(api, MA, {"effective-time": f"gt{moment}"}) == pk(taken, prn)
    not_done = api.get(f"{MA}/{skipped.pk}").json()
    assert not_done["status"] == "not-done" and not_done["statusReason"] == [{"text": "Felt sick"}]
    assert not_done["effectiveDateTime"] == skipped.due_at.isoformat()
    assert not_done["performer"] == [{"actor": {"reference": f"Patient/{personas.patient.pk}"}}]
    bundle = api.get(MA, {"_include": f"{MA}:request", "status": "not-done"}).json()
    assert ids(bundle, "include") == [str(meds["sertraline"].pk)]


# --- AdverseEvent and DetectedIssue -----------------------------------------------------------


@pytest.mark.django_db
def test_adverse_event_params(personas, meds):
    api = fhir_as(personas, "prescriber")
    mild, heavy = meds["mild"], meds["heavy"]
    assert found(api, "AdverseEvent", {"patient": personas.patient.pk}) == pk(mild, heavy)
    assert found(api, "AdverseEvent", {"date": f"lt{day(2)}"}) == pk(mild)
    assert found(api, "AdverseEvent", {"date": f"ge{day(2)}"}) == pk(heavy)
    assert found(api, "AdverseEvent", {"date": day(20)}) == pk(mild)
    assert found(api, "AdverseEvent", {"severity": "mild"}) == pk(mild)
    assert found(api, "AdverseEvent", {"severity": "moderate"}) == pk(heavy)
    assert found(api, "AdverseEvent", {"seriousness": "serious"}) == []
    assert found(api, "AdverseEvent", {"event": "http://snomed.info/sct|62014003"}) == pk(mild, heavy)
    assert found(api, "AdverseEvent", {"event": "nausea"}) == pk(mild)
    assert found(api, "AdverseEvent", {"event": "sleep"}) == pk(heavy)
    assert found(api, "AdverseEvent", {"substance": f"{MS}/{meds['sertraline'].pk}"}) == pk(mild)
    SideEffectReport.objects.filter(pk=heavy.pk).update(severity="urgent")
    assert found(api, "AdverseEvent", {"seriousness": "serious", "severity": "severe"}) == pk(heavy)
    event = api.get(f"AdverseEvent/{mild.pk}").json()
    assert event["suspectEntity"][0]["instance"]["reference"] == f"{MS}/{meds['sertraline'].pk}"
    assert event["recorder"] == {"reference": f"Patient/{personas.patient.pk}"}
    assert "nausea, headache" in event["event"]["text"]
    bundle = api.get("AdverseEvent", {"_include": "AdverseEvent:substance"}).json()
    assert ids(bundle, "include") == [str(meds["sertraline"].pk)]


@pytest.mark.django_db
def test_detected_issue_params(personas, meds):
    api = fhir_as(personas, "therapist")
    cap = f"{meds['citalopram'].versions.get(number=1).pk}-0"
    level = f"{meds['lithium'].versions.get(number=1).pk}-0"
    assert found(api, "DetectedIssue", {"patient": personas.patient.pk}) == sorted([cap, level])
    assert found(api, "DetectedIssue", {"code": "dose"}) == [cap]
    assert found(
        api, "DetectedIssue", {"code": "http://terminology.hl7.org/CodeSystem/v3-ActCode|DOSEH"}
    ) == [cap]
    assert found(api, "DetectedIssue", {"code": "monitoring"}) == [level]
    assert found(api, "DetectedIssue", {"implicated": f"{MR}/{meds['lithium'].pk}"}) == [level]
    RegimenVersion.objects.filter(regimen=meds["citalopram"], number=1).update(
        created_at=timezone.now() - timedelta(days=90)
    )
    assert found(api, "DetectedIssue", {"identified": f"lt{day(1)}"}) == [cap]
    assert found(api, "DetectedIssue", {"identified": f"ge{day(1)}"}) == [level]
    assert found(api, "DetectedIssue", {"identified": day(90)}) == [cap]
    assert ids(api.get("DetectedIssue", {"_sort": "identified"}).json()) == [cap, level]
    high = api.get(f"DetectedIssue/{cap}").json()
    assert high["severity"] == "high" and high["implicated"] == [
        {"reference": f"{MR}/{meds['citalopram'].pk}"}
    ]
    assert high["evidence"][0]["code"][0]["coding"][0]["code"] == "citalopram-max-40"
    assert "Benefit outweighs the risk" in high["mitigation"][0]["action"]["text"]
    low = api.get(f"DetectedIssue/{level}").json()
    assert low["severity"] == "low" and "mitigation" not in low and low["reference"].startswith("http")
    assert api.get("DetectedIssue/1-99").status_code == 404
    assert api.get("DetectedIssue/x").status_code == 404
    bundle = api.get("DetectedIssue", {"_include": "DetectedIssue:implicated"}).json()
    assert sorted(ids(bundle, "include")) == pk(meds["citalopram"], meds["lithium"])
    assert fhir_as(personas, "outsider").get(f"DetectedIssue/{cap}").status_code == 404


@pytest.mark.django_db
def test_searches_cost_the_same_queries_for_few_or_many_rows(personas, meds):
    api = fhir_as(personas, "therapist")
    names = (MR, MS, MD, MA, "AdverseEvent", "DetectedIssue")

    def cost() -> dict[str, int]:
        counts = {}
        for name in names:
            with CaptureQueriesContext(connection) as captured:
                assert api.get(name, {"_include": f"{name}:patient"}).status_code == 200
            counts[name] = len(captured)
        return counts

    api.get(MR)
    before = cost()
    for n in range(6):
        start(personas.patient, personas.prescriber, "bupropion", 150, 10 + n)
    assert cost() == before


# --- create MedicationDispense ----------------------------------------------------------------


def dispense(personas, **extra):
    body = {
        "resourceType": MD,
        "identifier": [{"system": "urn:pharmacy", "value": "RX-9"}],
        "status": "completed",
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": "6448"}], "text": "Lithium 300 mg"},
        "subject": {"reference": f"Patient/{personas.patient.pk}"},
        "quantity": {"value": 60},
        "daysSupply": {"value": 30, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"},
        "whenHandedOver": pat_day(personas, 2),
    }
    return {**body, **extra}


@pytest.mark.django_db
def test_a_posted_fill_is_stored_as_an_import_and_counts_in_pdc(personas, meds):
    api = fhir_as(personas, "care_manager")
    response = api.post(MD, dispense(personas))
    assert response.status_code == 201, response.content
    created = response.json()
    assert response["Location"].endswith(f"/fhir/{MD}/{created['id']}")
    fill = Fill.objects.get(pk=created["id"])
    assert (fill.source, fill.external_id, fill.drug_key, fill.regimen) == (
        "import",
        "urn:pharmacy|RX-9",
        "lithium",
        meds["lithium"],
    )
    assert created["authorizingPrescription"] == [{"reference": f"{MR}/{meds['lithium'].pk}"}]
    today = local_date(timezone.now(), personas.patient.time_zone)
    pdc, _ = patient_pdc(personas.patient, today)
    assert pdc["mood_stabiliser"].days_covered == 3  # handed over 2 days ago, today included
    again = api.post(MD, dispense(personas))
    assert again.status_code == 200 and again.json()["id"] == created["id"]
    conditional = api.post(
        MD, dispense(personas, identifier=[]), **{"If-None-Exist": "identifier=urn:pharmacy|RX-9"}
    )
    assert conditional.status_code == 200 and conditional.json()["id"] == created["id"]
    assert api.post(MD, dispense(personas), **{"If-None-Exist": "code=36437"}).status_code == 412
    other = api.post(MD, dispense(personas, daysSupply={"value": 90}))
    assert other.status_code == 409 and "identifier" in other.json()["issue"][0]["diagnostics"]
    assert Fill.objects.filter(patient=personas.patient).count() == 3


@pytest.mark.django_db
def test_a_fill_without_identifier_is_stored_once_and_the_patient_may_send_one(personas, meds):
    api = Fhir(token_for(personas.patient_user, "patient/MedicationDispense.c patient/MedicationDispense.r"))
    body = dispense(personas, identifier=[], whenHandedOver=f"{pat_day(personas, 1)}T18:00:00+00:00")
    first = api.post(MD, body)
    assert first.status_code == 201, first.content
    assert api.post(MD, body).json()["id"] == first.json()["id"]
    assert Fill.objects.get(pk=first.json()["id"]).source == "patient"
    other = dispense(personas, subject={"reference": f"Patient/{personas.other_patient.pk}"})
    assert api.post(MD, other).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", ["consultant", "consented", "outsider", "colleague", "org_admin", "other_patient"]
)
def test_who_may_not_record_fills_gets_the_404_of_a_missing_patient(personas, meds, persona):
    api = fhir_as(personas, persona)
    missing = api.post(MD, dispense(personas, subject={"reference": "Patient/987654"}))
    response = api.post(MD, dispense(personas))
    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content
    assert not Fill.objects.filter(external_id="urn:pharmacy|RX-9").exists()


@pytest.mark.django_db
def test_bad_fills_are_refused_naming_the_element(personas, meds):
    api = fhir_as(personas, "prescriber")
    future = pat_day(personas, -2)
    cases = [
        (dispense(personas, colour="red"), 400, "colour"),
        (dispense(personas, status="bogus"), 422, f"{MD}.status"),
        (dispense(personas, status="in-progress"), 422, f"{MD}.status"),
        (
            dispense(personas, medicationCodeableConcept={"coding": [{"system": RX, "code": "999999999"}]}),
            422,
            f"{MD}.medicationCodeableConcept",
        ),
        (
            dispense(personas, medicationCodeableConcept={"text": "lithium"}),
            422,
            f"{MD}.medicationCodeableConcept",
        ),
        (dispense(personas, daysSupply=None), 422, f"{MD}.daysSupply"),
        (dispense(personas, daysSupply={"value": 0}), 422, f"{MD}.daysSupply"),
        (dispense(personas, daysSupply={"value": 30, "code": "wk"}), 422, f"{MD}.daysSupply"),
        (dispense(personas, whenHandedOver=None), 422, f"{MD}.whenHandedOver"),
        (dispense(personas, whenHandedOver=future), 422, f"{MD}.whenHandedOver"),
        (dispense(personas, subject=None), 422, f"{MD}.subject"),
        (
            dispense(personas, authorizingPrescription=[{"reference": f"{MR}/{meds['sertraline'].pk}"}]),
            422,
            f"{MD}.medicationCodeableConcept",
        ),
        (
            dispense(personas, authorizingPrescription=[{"reference": f"{MR}/{meds['fluoxetine'].pk}"}]),
            422,
            f"{MD}.authorizingPrescription",
        ),
    ]
    for body, status, needle in cases:
        body = {k: v for k, v in body.items() if v is not None}
        response = api.post(MD, body)
        assert response.status_code == status, (needle, response.status_code, response.content[:300])
        OperationOutcome.model_validate(response.json())
        assert needle in json.dumps(response.json()), (needle, response.json())
    assert Fill.objects.filter(patient=personas.patient).count() == 2
    assert fhir_as(personas, "prescriber", "user/*.read").post(MD, dispense(personas)).status_code == 403


# --- create MedicationAdministration ----------------------------------------------------------


def administration(personas, regimen, moment, status="completed", **extra):
    body = {
        "resourceType": MA,
        "identifier": [{"system": "urn:app:doses", "value": f"dose-{int(moment.timestamp())}"}],
        "status": status,
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": "6448"}]},
        "subject": {"reference": f"Patient/{personas.patient.pk}"},
        "effectiveDateTime": moment.isoformat(),
        "request": {"reference": f"{MR}/{regimen.pk}"},
    }
    return {**body, **extra}


def patient_api(personas, scopes="patient/MedicationAdministration.c patient/MedicationAdministration.r"):
    return Fhir(token_for(personas.patient_user, scopes))


@pytest.mark.django_db
def test_the_patient_logs_a_dose_once_whatever_the_retries(personas, meds):
    lithium = meds["lithium"]
    due = recent_doses(personas.patient, lithium, 1)[0]
    api = patient_api(personas)
    taken = min(due + timedelta(minutes=7), timezone.now()).replace(microsecond=0)
    body = administration(personas, lithium, taken)
    response = api.post(MA, body)
    assert response.status_code == 201, response.content
    log = DoseLog.objects.get(pk=response.json()["id"])
    assert (log.status, log.due_at, log.taken_at) == ("taken", due, taken)
    assert response["Location"].endswith(f"/fhir/{MA}/{log.pk}")
    assert api.post(MA, body).json()["id"] == str(log.pk)
    identifier = body["identifier"][0]
    conditional = api.post(
        MA,
        {**body, "identifier": []},
        **{"If-None-Exist": f"identifier={identifier['system']}|{identifier['value']}"},
    )
    assert conditional.status_code == 200 and conditional.json()["id"] == str(log.pk)
    twice = api.post(MA, {**body, "identifier": [{"value": "another-tap"}]})
    assert twice.status_code == 409
    assert DoseLog.objects.filter(regimen=lithium).count() == 1


@pytest.mark.django_db
def test_skipped_and_as_needed_doses(personas, meds):
    lithium, hydroxyzine = meds["lithium"], meds["hydroxyzine"]
    due = recent_doses(personas.patient, lithium, 1)[0]
    api = patient_api(personas)
    no_reason = api.post(MA, administration(personas, lithium, due, "not-done"))
    assert no_reason.status_code == 422 and f"{MA}.statusReason" in json.dumps(no_reason.json())
    skipped = api.post(
        MA, administration(personas, lithium, due, "not-done", statusReason=[{"text": "Forgot"}])
    )
    assert skipped.status_code == 201, skipped.content
    assert DoseLog.objects.get(pk=skipped.json()["id"]).status == "skipped"
    moment = timezone.now() - timedelta(minutes=30)
    hydroxyzine_body = administration(
        personas, hydroxyzine, moment, medicationCodeableConcept={"coding": [{"system": RX, "code": "5553"}]}
    )
    assert api.post(MA, hydroxyzine_body).status_code == 422  # as needed: say why
    prn = api.post(MA, {**hydroxyzine_body, "reasonCode": [{"text": "Panicky"}]})
    assert prn.status_code == 201 and DoseLog.objects.get(pk=prn.json()["id"]).status == "prn"
    by_code = administration(personas, hydroxyzine, moment, reasonCode=[{"text": "Again"}], identifier=[])
    del by_code["request"]
    by_code["medicationCodeableConcept"] = {"coding": [{"system": RX, "code": "5553"}]}
    assert api.post(MA, by_code).status_code == 201  # the regimen found by its RxNorm code


@pytest.mark.django_db
def test_bad_doses_are_refused_naming_the_element(personas, meds):
    lithium = meds["lithium"]
    due = recent_doses(personas.patient, lithium, 1)[0]
    api = patient_api(personas)
    before = DoseLog.objects.count()
    old_sertraline = administration(
        personas,
        meds["sertraline"],
        timezone.now() - timedelta(days=6),
        medicationCodeableConcept={"coding": [{"system": RX, "code": "36437"}]},
    )
    cases = [
        (administration(personas, lithium, due, colour="red"), 400, "colour"),
        (administration(personas, lithium, due, status="in-progress"), 422, f"{MA}.status"),
        (
            administration(personas, lithium, due, effectiveDateTime=due.date().isoformat()),
            422,
            f"{MA}.effectiveDateTime",
        ),
        (old_sertraline, 422, f"{MA}.effectiveDateTime"),  # more than 48 hours late
        (
            administration(personas, lithium, due, request={"reference": f"{MR}/{meds['fluoxetine'].pk}"}),
            422,
            f"{MA}.request",
        ),
        (
            administration(
                personas,
                lithium,
                due,
                medicationCodeableConcept={"coding": [{"system": RX, "code": "36437"}]},
            ),
            422,
            f"{MA}.medicationCodeableConcept",
        ),
        (
            administration(
                personas, lithium, due, subject={"reference": f"Patient/{personas.other_patient.pk}"}
            ),
            404,
            "not-found",
        ),
    ]
    for body, status, needle in cases:
        response = api.post(MA, body)
        assert response.status_code == status, (needle, response.status_code, response.content[:300])
        OperationOutcome.model_validate(response.json())
        assert needle in json.dumps(response.json()), (needle, response.json())
    assert DoseLog.objects.count() == before
    assert (
        patient_api(personas, "patient/MedicationAdministration.r")
        .post(MA, administration(personas, lithium, due))
        .status_code
        == 403
    )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["prescriber", "therapist", "care_manager", "consented", "outsider"])
def test_only_the_patient_logs_doses(personas, meds, persona):
    lithium = meds["lithium"]
    due = recent_doses(personas.patient, lithium, 1)[0]
    response = fhir_as(personas, persona).post(MA, administration(personas, lithium, due))
    assert response.status_code == 404
    assert not DoseLog.objects.filter(regimen=lithium).exists()


@pytest.mark.django_db
def test_a_token_without_the_types_scope_is_refused(personas, meds):
    api = Fhir(token_for(personas.therapist, "user/MedicationRequest.rs"))
    assert api.get(MR).status_code == 200
    for name in (MS, MD, MA, "AdverseEvent", "DetectedIssue"):
        refused = api.get(name)
        assert refused.status_code == 403 and f"user/{name}" in refused.json()["issue"][0]["diagnostics"]
    bundle = api.get(MR, {"_include": f"{MR}:patient"}).json()
    assert ids(bundle, "include") == []  # Patient is not in the token's scopes
