"""Observation labs and vitals (with scores, one search), Appointment, Encounter, Communication
and Task: their search parameters, paging across sources, who sees what, and POST Observation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from fhir.resources.R4B.observation import Observation

from tandem.audit.models import Action, AuditEvent, Outcome
from tandem.collab.models import Alert
from tandem.fhir.tests.helpers import Fhir, build_world, fhir_as, ids, token_for
from tandem.fhir.tests.world_care import lab
from tandem.lib.testing import make_patient
from tandem.medications.models import LabResult

OBS = "Observation"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
EVERYONE = TEAM | {"org_admin", "patient", "other_patient", "colleague", "outsider", "consented"}


@pytest.fixture
def world(personas):
    return build_world(personas)


def care(world):
    return world.extra["care"]


def found(api, name, params=None):
    response = api.get(name, params or {})
    assert response.status_code == 200, response.content
    return sorted(ids(response.json()))


def lab_id(world, key):
    row = care(world)["labs"][key]
    return f"{'vital' if key in ('weight', 'systolic') else 'lab'}-{row.pk}"


def day_of(moment):
    return timezone.localtime(moment).date().isoformat()


# --- Observation: labs and vitals -------------------------------------------------------------


@pytest.mark.django_db
def test_labs_and_vitals_carry_loinc_ucum_and_their_category(personas, world):
    api = fhir_as(personas, "therapist")
    lithium = api.get(f"{OBS}/{lab_id(world, 'lithium')}").json()
    Observation.model_validate(lithium)
    assert lithium["code"]["coding"][0] == {
        "system": LOINC,
        "code": "14334-7",
        "display": "Lithium [Moles/volume] in Serum or Plasma",
    }
    assert lithium["valueQuantity"] == {"value": 0.6, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"}
    assert lithium["category"][0]["coding"][0]["code"] == "laboratory"
    assert lithium["interpretation"][0]["coding"][0]["code"] == "N"
    weight = api.get(f"{OBS}/{lab_id(world, 'weight')}").json()
    assert (weight["code"]["coding"][0]["code"], weight["valueQuantity"]["code"]) == ("29463-7", "kg")
    assert weight["category"][0]["coding"][0]["code"] == "vital-signs"
    systolic = api.get(f"{OBS}/{lab_id(world, 'systolic')}").json()
    assert systolic["code"]["coding"][0]["code"] == "8480-6"
    assert systolic["valueQuantity"]["code"] == "mm[Hg]"
    assert systolic["interpretation"][0]["coding"][0]["code"] == "H"
    # A molar creatinine has the molar LOINC code; its identifier comes back as sent.
    creatinine = api.get(f"{OBS}/{lab_id(world, 'creatinine')}").json()
    assert (creatinine["code"]["coding"][0]["code"], creatinine["valueQuantity"]["code"]) == (
        "14682-9",
        "umol/L",
    )
    assert creatinine["identifier"] == [{"system": "urn:lab:acme", "value": "A-1"}]
    qtc = api.get(f"{OBS}/{lab_id(world, 'qtc')}").json()
    assert qtc["category"][0]["coding"][0]["code"] == "procedure"
    # An id under another source's prefix is not found.
    weight_pk = care(world)["labs"]["weight"].pk
    assert api.get(f"{OBS}/lab-{weight_pk}").status_code == 404
    assert api.get(f"{OBS}/score-{weight_pk}x").status_code == 404


@pytest.mark.django_db
def test_category_code_and_status_search_across_scores_labs_and_vitals(personas, world):
    api = fhir_as(personas, "therapist")
    scores = sorted(f"score-{r.pk}" for r in world.pat_responses)
    labs = sorted([lab_id(world, "lithium"), lab_id(world, "creatinine")])
    vitals = sorted([lab_id(world, "weight"), lab_id(world, "systolic")])
    assert found(api, OBS, {"category": "survey"}) == scores
    assert found(api, OBS, {"category": "laboratory"}) == labs
    assert found(api, OBS, {"category": "vital-signs"}) == vitals
    assert found(api, OBS, {"category": "procedure"}) == [lab_id(world, "qtc")]
    both = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs,laboratory"
    assert found(api, OBS, {"category": both}) == sorted(labs + vitals)
    assert found(api, OBS, {"category": "http://snomed.info/sct|laboratory"}) == []
    assert found(api, OBS, {"code": "14334-7"}) == [lab_id(world, "lithium")]
    assert found(api, OBS, {"code": f"{LOINC}|29463-7"}) == [lab_id(world, "weight")]
    assert found(api, OBS, {"code": "14682-9"}) == [lab_id(world, "creatinine")]
    assert found(api, OBS, {"code": "2160-0"}) == []  # the mass-concentration code
    assert found(api, OBS, {"code": "44261-6,8480-6"}) == sorted([*scores, lab_id(world, "systolic")])
    assert found(api, OBS, {"code": "44261-6", "category": "laboratory"}) == []
    everything = sorted([*scores, *labs, *vitals, lab_id(world, "qtc")])
    assert found(api, OBS, {"status": "final"}) == everything
    assert found(api, OBS, {"status": "preliminary"}) == []
    assert found(api, OBS, {"identifier": "urn:lab:acme|A-1"}) == [lab_id(world, "creatinine")]
    assert found(api, OBS, {"identifier": "A-1"}) == [lab_id(world, "creatinine")]
    assert found(api, OBS, {"_id": f"{lab_id(world, 'weight')},score-{world.pat_responses[0].pk}"}) == sorted(
        [lab_id(world, "weight"), f"score-{world.pat_responses[0].pk}"]
    )
    # Oli's result is his own and his team's only.
    assert found(api, OBS, {"patient": personas.other_patient.pk}) == []
    assert found(api, OBS, {"patient": f"Patient/{personas.patient.pk}"}) == everything


@pytest.mark.django_db
def test_date_prefixes_and_last_updated_span_every_source(personas, world):
    api = fhir_as(personas, "therapist")
    weight = care(world)["labs"]["weight"]
    day = day_of(weight.observed_at)
    assert found(api, OBS, {"date": day}) == [lab_id(world, "weight")]
    assert found(api, OBS, {"date": f"lt{day}"}) == sorted(
        [f"score-{world.pat_responses[0].pk}", lab_id(world, "lithium")]
    )
    assert len(found(api, OBS, {"date": f"le{day}"})) == 3
    assert len(found(api, OBS, {"date": f"gt{day}"})) == 5
    assert len(found(api, OBS, {"date": f"ge{day}"})) == 6
    assert len(found(api, OBS, {"date": f"ne{day}"})) == 7
    assert found(api, OBS, [("date", f"ge{day}"), ("date", f"le{day}")]) == [lab_id(world, "weight")]
    assert found(api, OBS, {"date": weight.observed_at.isoformat()}) == [lab_id(world, "weight")]
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert found(api, OBS, {"_lastUpdated": f"gt{tomorrow}"}) == []
    assert len(found(api, OBS, {"_lastUpdated": f"lt{tomorrow}"})) == 8
    assert api.get(OBS, {"date": "ap2024"}).status_code == 400


@pytest.mark.django_db
def test_sort_total_and_next_links_hold_across_sources(personas, world):
    api = fhir_as(personas, "therapist")
    bundle = api.get(OBS, {"_count": 3, "_sort": "date"}).json()
    assert bundle["total"] == 8
    seen: list[str] = []
    dates: list[str] = []
    while True:
        seen += ids(bundle)
        dates += [e["resource"]["effectiveDateTime"] for e in bundle.get("entry", [])]
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not nxt:
            break
        bundle = api.client.get(nxt[0], headers=api.headers).json()
        assert bundle["total"] == 8
    assert len(seen) == 8 and len(set(seen)) == 8
    assert dates == sorted(dates, key=datetime.fromisoformat)
    newest_first = ids(api.get(OBS, {"_sort": "-date"}).json())
    assert newest_first == list(reversed(seen))
    assert ids(api.get(OBS).json()) == newest_first  # the default order
    assert len(ids(api.get(OBS, {"_sort": "-_lastUpdated,_id"}).json())) == 8
    assert api.get(OBS, {"_count": 0}).json()["total"] == 8
    assert api.get(OBS, {"category": "laboratory", "_count": 1}).json()["total"] == 2


@pytest.mark.django_db
def test_an_observation_search_costs_the_same_queries_for_few_or_many_rows(personas, world):
    api = fhir_as(personas, "therapist")
    api.get(OBS)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(OBS, {"_include": "Observation:patient"}).status_code == 200
        return len(captured)

    few = queries()
    for n in range(12):
        lab(personas.patient, personas.prescriber, "tsh", f"1.{n}", "mIU/L", 30 + n)
        lab(personas.patient, personas.prescriber, "bmi", f"2{n % 10}", "kg/m²", 50 + n)
    assert queries() == few


@pytest.mark.django_db
def test_a_search_is_audited_once_per_patient_with_what_was_read(personas, world):
    api = fhir_as(personas, "consented")
    before = AuditEvent.objects.order_by("-seq").first().seq
    assert len(ids(api.get(OBS).json())) == 8
    rows = AuditEvent.objects.filter(seq__gt=before, action=Action.READ, entity_type=OBS)
    assert [(r.patient_id, r.extra["need"]) for r in rows] == [(personas.patient.pk, "measures+medications")]
    labs_only = fhir_as(personas, "consented").get(OBS, {"category": "laboratory"})
    assert labs_only.status_code == 200
    last = AuditEvent.objects.filter(action=Action.READ, entity_type=OBS).latest("seq")
    assert last.extra["need"] == "medications"


@pytest.mark.django_db
def test_the_scopes_of_a_token_limit_it_to_its_types(personas, world):
    api = Fhir(token_for(personas.therapist, "user/Appointment.rs"))
    assert api.get("Appointment").status_code == 200
    for name in ("Observation", "Encounter", "Communication", "Task"):
        assert api.get(name).status_code == 403, name
    bundle = api.get("Appointment", {"_include": "Appointment:patient"}).json()
    assert ids(bundle, "include") == []  # Patient is not in the token's scopes


# --- Appointment and Encounter ----------------------------------------------------------------


def session_ids(world, *keys):
    return sorted(str(care(world)["sessions"][k].pk) for k in keys)


@pytest.mark.django_db
def test_appointments_by_status_date_practitioner_and_service_type(personas, world):
    api = fhir_as(personas, "care_manager")
    assert found(api, "Appointment") == session_ids(
        world, "attended", "video", "missed", "booked", "cancelled"
    )
    assert found(api, "Appointment", {"status": "booked"}) == session_ids(world, "booked")
    assert found(api, "Appointment", {"status": "fulfilled"}) == session_ids(world, "attended", "video")
    assert found(api, "Appointment", {"status": "noshow"}) == session_ids(world, "missed")
    assert found(api, "Appointment", {"status": "cancelled,noshow"}) == session_ids(
        world, "missed", "cancelled"
    )
    today = timezone.localdate().isoformat()
    assert found(api, "Appointment", {"date": f"ge{today}"}) == session_ids(world, "booked", "cancelled")
    assert found(api, "Appointment", {"date": f"lt{today}"}) == session_ids(
        world, "attended", "video", "missed"
    )
    prescriber = f"Practitioner/{personas.prescriber.pk}"
    assert found(api, "Appointment", {"practitioner": prescriber}) == session_ids(world, "video")
    assert found(api, "Appointment", {"service-type": "medication"}) == session_ids(world, "video")
    cancelled = api.get(f"Appointment/{care(world)['sessions']['cancelled'].pk}").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelationReason"]["coding"][0]["code"] == "prov"
    assert cancelled["cancelationReason"]["text"] == "Cancelled: Therapist away"
    booked = api.get(f"Appointment/{care(world)['sessions']['booked'].pk}").json()
    actors = [p["actor"]["reference"] for p in booked["participant"]]
    assert actors == [f"Patient/{personas.patient.pk}", f"Practitioner/{personas.therapist.pk}"]
    assert booked["serviceType"][0]["coding"][0]["code"] == "therapy"
    bundle = api.get(
        "Appointment",
        [("_include", "Appointment:patient"), ("_include", "Appointment:practitioner"), ("_sort", "date")],
    ).json()
    assert sorted(ids(bundle, "include")) == sorted(
        [str(personas.patient.pk), str(personas.therapist.pk), str(personas.prescriber.pk)]
    )
    starts = [e["resource"]["start"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert starts == sorted(starts)


@pytest.mark.django_db
def test_encounters_are_the_attended_sessions(personas, world):
    api = fhir_as(personas, "therapist")
    assert found(api, "Encounter") == session_ids(world, "attended", "video")
    assert found(api, "Encounter", {"class": "VR"}) == session_ids(world, "video")
    act = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
    assert found(api, "Encounter", {"class": f"{act}|AMB"}) == session_ids(world, "attended")
    assert found(api, "Encounter", {"status": "finished"}) == session_ids(world, "attended", "video")
    assert found(api, "Encounter", {"status": "planned"}) == []
    therapist = f"Practitioner/{personas.therapist.pk}"
    assert found(api, "Encounter", {"practitioner": therapist}) == session_ids(world, "attended")
    video = care(world)["sessions"]["video"]
    assert found(api, "Encounter", {"date": day_of(video.starts_at)}) == session_ids(world, "video")
    assert found(api, "Encounter", {"date": f"gt{day_of(video.starts_at)}"}) == []
    encounter = api.get(f"Encounter/{video.pk}").json()
    assert encounter["appointment"] == [{"reference": f"Appointment/{video.pk}"}]
    assert encounter["class"]["code"] == "VR"
    assert encounter["period"]["end"] == video.ends_at.isoformat()
    assert api.get(f"Encounter/{care(world)['sessions']['booked'].pk}").status_code == 404
    bundle = api.get("Encounter", {"_include": "Encounter:appointment"}).json()
    assert sorted(ids(bundle, "include")) == session_ids(world, "attended", "video")


# --- Communication ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_messages_as_the_team_and_the_patient_see_them(personas, world):
    threads = care(world)["threads"]
    team_msgs = sorted(str(m.pk) for m in threads["team"].messages.all())
    shared_msgs = sorted(str(m.pk) for m in threads["shared"].messages.all())
    team = fhir_as(personas, "consultant")
    assert found(team, "Communication") == sorted(team_msgs + shared_msgs)
    assert found(team, "Communication", {"category": "team"}) == team_msgs
    assert found(team, "Communication", {"category": "team_patient"}) == shared_msgs
    own = fhir_as(personas, "patient")
    assert found(own, "Communication") == shared_msgs
    assert found(own, "Communication", {"category": "team"}) == []
    reply = care(world)["reply"]
    message = own.get(f"Communication/{reply.pk}").json()
    assert message["sender"] == {"reference": f"Patient/{personas.patient.pk}"}
    assert message["recipient"] == [{"reference": f"CareTeam/{personas.patient.pk}", "display": "Care team"}]
    assert message["payload"] == [{"contentString": "Thanks, see you then."}]
    assert message["topic"] == {"text": "Next visit"}
    first_team = threads["team"].messages.first()
    assert own.get(f"Communication/{first_team.pk}").status_code == 404
    day = day_of(reply.created_at)
    assert found(team, "Communication", {"sent": f"ge{day}", "patient": personas.patient.pk}) == sorted(
        team_msgs + shared_msgs
    )
    assert found(team, "Communication", {"sent": f"lt{day}"}) == []
    for persona in ("consented", "org_admin", "outsider", "colleague", "other_patient"):
        api = fhir_as(personas, persona)
        assert not set(found(api, "Communication")) & set(team_msgs + shared_msgs), persona


@pytest.mark.django_db
def test_a_patient_probing_their_own_messages_is_not_a_denial(personas, world):
    own = fhir_as(personas, "patient")
    before = AuditEvent.objects.order_by("-seq").first().seq
    assert found(own, "Communication", {"patient": personas.patient.pk})
    assert not AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).exists()
    found(own, "Communication", {"patient": personas.other_patient.pk})
    assert AuditEvent.objects.filter(
        seq__gt=before, outcome=Outcome.DENIED, patient=personas.other_patient
    ).exists()


# --- Task ---------------------------------------------------------------------------------------


def task_ids(world, *handoffs, risk=True):
    from tandem.safety.models import AssessmentTask

    found_ids = [f"handoff-{care(world)['handoffs'][k].pk}" for k in handoffs]
    if risk:
        found_ids += [f"risk-{t.pk}" for t in AssessmentTask.objects.filter(patient=world.plan.patient)]
    return sorted(found_ids)


@pytest.mark.django_db
def test_tasks_are_risk_assessments_and_handoffs(personas, world):
    api = fhir_as(personas, "therapist")
    everything = task_ids(world, "consult", "change")
    assert len(everything) == 3
    assert found(api, "Task") == everything
    assert found(api, "Task", {"status": "requested"}) == task_ids(world)
    assert found(api, "Task", {"status": "accepted"}) == task_ids(world, "consult", risk=False)
    assert found(api, "Task", {"status": "completed"}) == task_ids(world, "change", risk=False)
    prescriber = f"Practitioner/{personas.prescriber.pk}"
    assert found(api, "Task", {"owner": prescriber}) == task_ids(world, "consult", risk=False)
    assert found(api, "Task", {"requester": prescriber}) == task_ids(world, "change", risk=False)
    assert found(api, "Task", {"code": "http://snomed.info/sct|225337009"}) == task_ids(world)
    assert found(api, "Task", {"code": "medication_change"}) == task_ids(world, "change", risk=False)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert found(api, "Task", {"authored-on": f"lt{tomorrow}", "patient": personas.patient.pk}) == everything
    assert found(api, "Task", {"authored-on": f"ge{tomorrow}"}) == []
    change = api.get(f"Task/handoff-{care(world)['handoffs']['change'].pk}").json()
    assert (change["intent"], change["status"]) == ("order", "completed")
    assert change["for"] == {"reference": f"Patient/{personas.patient.pk}"}
    assert change["note"] == [{"text": "Discussed in session"}]
    assert {"type": {"text": "What to watch for in therapy"}, "valueString": "Tremor, thirst"} in change[
        "input"
    ]
    risk = api.get(f"Task/{task_ids(world, risk=True)[0]}").json()
    assert risk["focus"]["reference"].startswith("Flag/")
    bundle = api.get("Task", [("_include", "Task:owner"), ("_sort", "-authored-on"), ("_count", "2")]).json()
    assert bundle["total"] == 3 and len(ids(bundle)) == 2
    assert any(link["relation"] == "next" for link in bundle["link"])
    assert str(personas.prescriber.pk) in ids(bundle, "include") or str(personas.therapist.pk) in ids(
        bundle, "include"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
def test_appointments_and_tasks_are_seen_as_in_the_app(personas, world, persona):
    api = fhir_as(personas, persona)
    pat_sessions = session_ids(world, "attended", "video", "missed", "booked", "cancelled")
    sees_sessions = persona in TEAM | {"patient"}
    assert (set(found(api, "Appointment")) >= set(pat_sessions)) == sees_sessions
    assert bool(set(found(api, "Appointment")) & set(pat_sessions)) == sees_sessions
    oli_session = str(care(world)["sessions"]["oli"].pk)
    assert (oli_session in found(api, "Appointment")) == (persona in {"colleague", "other_patient"})
    tasks = set(found(api, "Task"))
    assert (tasks == set(task_ids(world, "consult", "change"))) == (persona in TEAM)
    if persona not in TEAM:
        assert tasks == set()


# --- POST Observation ---------------------------------------------------------------------------


def lab_body(personas, *, code="14334-7", value=0.7, unit="mmol/L", when=None, **extra):
    when = (
        when or (timezone.now() - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0).isoformat()
    )
    body = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{personas.patient.pk}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        "identifier": [{"system": "urn:lab:acme", "value": "L-100"}],
    }
    return {**body, **extra}


@pytest.mark.django_db
def test_a_care_team_member_records_a_lab_result(personas):
    api = fhir_as(personas, "care_manager")
    response = api.post(OBS, lab_body(personas, value=1.6))
    assert response.status_code == 201, response.content
    created = response.json()
    assert response["Location"].endswith(f"/fhir/{OBS}/{created['id']}")
    assert created["id"].startswith("lab-")
    stored = LabResult.objects.get(pk=int(created["id"].removeprefix("lab-")))
    assert (stored.kind, stored.value, stored.unit, stored.source, stored.flag) == (
        "lithium_level",
        stored.value,
        "mmol/L",
        "import",
        "critical",
    )
    assert str(stored.value) == "1.600"
    assert stored.external_id == "urn:lab:acme|L-100"
    # The labs page's rules ran: a critical lithium level alerts the prescriber.
    assert Alert.objects.filter(patient=personas.patient, kind="lab", severity="urgent").exists()
    assert AuditEvent.objects.filter(action=Action.CREATE, entity_type=OBS, entity_id=str(stored.pk)).exists()
    assert api.get(f"{OBS}/{created['id']}").json()["valueQuantity"]["value"] == 1.6


@pytest.mark.django_db
def test_a_vital_sign_in_another_ucum_unit_is_stored_in_it(personas):
    api = fhir_as(personas, "therapist")
    body = lab_body(personas, code="29463-7", value=176, unit="[lb_av]")
    body["category"][0]["coding"][0]["code"] = "vital-signs"
    response = api.post(OBS, body)
    assert response.status_code == 201, response.content
    assert response.json()["id"].startswith("vital-")
    assert response.json()["valueQuantity"] == {"value": 176, "unit": "lb", "system": UCUM, "code": "[lb_av]"}


@pytest.mark.django_db
def test_the_same_identifier_and_if_none_exist_return_the_first(personas):
    api = fhir_as(personas, "prescriber")
    first = api.post(OBS, lab_body(personas)).json()
    again = api.post(OBS, lab_body(personas))
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    other = lab_body(personas, value=0.8, identifier=[{"system": "urn:lab:acme", "value": "L-101"}])
    conditional = api.post(OBS, other, **{"If-None-Exist": "identifier=urn:lab:acme|L-100"})
    assert conditional.status_code == 200 and conditional.json()["id"] == first["id"]
    assert LabResult.objects.count() == 1
    fresh = api.post(OBS, other, **{"If-None-Exist": "identifier=urn:lab:acme|L-101"})
    assert fresh.status_code == 201
    third = lab_body(personas, value=0.9, identifier=[{"value": "L-102"}])
    twice = api.post(OBS, third, **{"If-None-Exist": f"code=14334-7&patient={personas.patient.pk}"})
    assert twice.status_code == 412
    assert LabResult.objects.count() == 2


@pytest.mark.django_db
def test_bad_input_names_the_element_and_writes_nothing(personas):
    api = fhir_as(personas, "therapist")
    survey = lab_body(personas, code="44261-6", value=9, unit="{score}")
    wrong_unit = lab_body(personas, unit="mg/dL")
    no_time = lab_body(personas)
    del no_time["effectiveDateTime"]
    date_only = lab_body(personas, when="2024-05-17")
    no_value = lab_body(personas)
    del no_value["valueQuantity"]
    wrong_category = lab_body(personas, code="29463-7", value=80, unit="kg")
    implausible = lab_body(personas, value=50)
    future = lab_body(personas, when=(timezone.now() + timedelta(days=3)).isoformat())
    unknown = lab_body(personas, colour="red")
    no_subject = lab_body(personas)
    del no_subject["subject"]
    cases = [
        (survey, 422, "Observation.code"),
        (lab_body(personas, code="2345-7", unit="mg/dL"), 422, "Observation.code"),
        (wrong_unit, 422, "Observation.valueQuantity.code"),
        (no_time, 422, "Observation.effectiveDateTime"),
        (date_only, 422, "Observation.effectiveDateTime"),
        (no_value, 422, "Observation.valueQuantity"),
        (wrong_category, 422, "Observation.category[0]"),
        (implausible, 422, "Observation.valueQuantity.value"),
        (future, 422, "Observation.effectiveDateTime"),
        (unknown, 400, "colour"),
        (no_subject, 422, "Observation.subject"),
        ({"resourceType": "Observation"}, 400, "Observation"),
    ]
    for body, status, element in cases:
        response = api.post(OBS, body)
        assert response.status_code == status, (element, response.content)
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert element in outcome["issue"][0]["diagnostics"] + str(outcome["issue"][0].get("expression")), (
            element,
            outcome,
        )
    assert LabResult.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "persona", ["consented", "outsider", "colleague", "org_admin", "patient", "other_patient"]
)
def test_who_may_not_record_labs_gets_the_404_of_a_missing_patient(personas, persona):
    api = fhir_as(personas, persona)
    response = api.post(OBS, lab_body(personas))
    missing = lab_body(personas, subject={"reference": "Patient/987654"})
    assert response.status_code == 404
    assert response.content == api.post(OBS, missing).content
    assert LabResult.objects.count() == 0


@pytest.mark.django_db
def test_another_organisations_patient_is_not_found_and_nothing_is_written(personas):
    elsewhere = make_patient(personas.other_org, "LK-1", "Lee", "Lakeside")
    api = fhir_as(personas, "prescriber")
    response = api.post(OBS, lab_body(personas, subject={"reference": f"Patient/{elsewhere.pk}"}))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, entity_type=OBS, patient=elsewhere).exists()
    assert LabResult.objects.count() == 0


@pytest.mark.django_db
def test_creating_needs_the_create_scope(personas):
    assert fhir_as(personas, "therapist", "user/*.read").post(OBS, lab_body(personas)).status_code == 403
    scoped = Fhir(token_for(personas.therapist, "user/Observation.c"))
    assert scoped.post(OBS, lab_body(personas)).status_code == 201


@pytest.mark.django_db
def test_care_searches_cost_the_same_queries_for_few_or_many_rows(personas, world):
    from tandem.fhir.tests.world_care import session
    from tandem.handoffs.actions import do_send_handoff
    from tandem.handoffs.messaging import do_post_message
    from tandem.therapy.actions import do_set_session_status

    api = fhir_as(personas, "care_manager")
    searches = {
        "Appointment": [("_include", "Appointment:practitioner")],
        "Encounter": [("_include", "Encounter:appointment")],
        "Communication": [("_include", "Communication:patient")],
        "Task": [("_include", "Task:owner")],
    }

    def queries() -> dict[str, int]:
        counts = {}
        for name, params in searches.items():
            with CaptureQueriesContext(connection) as captured:
                assert api.get(name, params).status_code == 200
            counts[name] = len(captured)
        return counts

    queries()
    few = queries()
    for n in range(6):
        done = session(personas.patient, personas.therapist, "therapy", -30 - n, 10)
        do_set_session_status(done, "attended", acting_user=personas.therapist)
        do_post_message(
            care(world)["threads"]["shared"],
            body=f"Reply {n}",
            acting_user=personas.patient_user,
            author_role="patient",
            idempotency_key=f"care-count-reply-{n}",
        )
        do_send_handoff(
            personas.patient,
            kind="consult_request",
            sender=personas.care_manager,
            recipient=personas.prescriber if n % 2 else personas.consultant,
            due_by=timezone.now() + timedelta(days=2),
            details={"question": f"Question {n}", "urgency": "soon"},
        )
    assert queries() == few
