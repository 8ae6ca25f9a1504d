"""Side effects: the triage rules at their boundaries, reporting (idempotent, one alert routed to
the prescriber, a notice to the therapist), the prescriber's response, the clinician pages and
the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent, Outcome
from tandem.collab.models import Alert, AlertStatus
from tandem.lib.timeline import collect
from tandem.medications.actions import MedicationError, do_change_regimen, do_start_regimen
from tandem.medications.models import OrgDrug, SideEffectReport
from tandem.medications.side_effect_actions import (
    do_report_side_effect,
    do_respond_to_side_effect,
    regimen_facts,
)
from tandem.medications.side_effects import (
    RegimenFacts,
    SideEffectInput,
    TriageRules,
    overall_severity,
    triage,
)
from tandem.patients.access import grant_for

# ---------------------------------------------------------------------------------------------
# Triage: pure rules

LAMOTRIGINE = RegimenFacts(1, "lamotrigine", "Lamotrigine", ("mood_stabiliser",), ("lamotrigine",))
CARBAMAZEPINE = RegimenFacts(2, "carbamazepine", "Carbamazepine", ("mood_stabiliser",), ("carbamazepine",))
SERTRALINE = RegimenFacts(3, "sertraline", "Sertraline", ("ssri",), ("sertraline",), serotonergic=True)
LITHIUM = RegimenFacts(4, "lithium", "Lithium", ("mood_stabiliser",), ("lithium",))
QUETIAPINE = RegimenFacts(5, "quetiapine", "Quetiapine", ("antipsychotic_sga",), ("quetiapine",))


def report(*symptoms: str, burden: int = 2, frequency: int = 2, intensity: int = 2) -> SideEffectInput:
    return SideEffectInput(
        frequency=frequency, intensity=intensity, burden=burden, symptoms=frozenset(symptoms)
    )


def rules_fired(findings) -> list[str]:
    return [f.rule_id for f in findings]


def test_a_rash_on_lamotrigine_is_urgent_and_cites_the_boxed_warning():
    findings = triage(report("rash"), [LAMOTRIGINE])
    assert findings[0].rule_id == "rash-lamotrigine" and findings[0].severity == "urgent"
    assert "§D Lamotrigine" in findings[0].source and "✔" in findings[0].source
    assert "SJS/TEN" in findings[0].source and findings[0].confidence == "✔"
    assert overall_severity(findings) == "urgent"


def test_blistering_on_carbamazepine_is_urgent():
    findings = triage(report("skin_blistering"), [CARBAMAZEPINE, SERTRALINE])
    assert rules_fired(findings)[0] == "rash-carbamazepine"
    assert "§D Carbamazepine" in findings[0].source


def test_a_rash_without_lamotrigine_or_carbamazepine_is_not_urgent():
    findings = triage(report("rash", "fever"), [SERTRALINE, QUETIAPINE])
    assert overall_severity(findings) == "routine"
    assert rules_fired(findings) == ["fibser-burden-0-2"]


def test_lamotrigine_without_skin_symptoms_is_not_urgent():
    assert overall_severity(triage(report("headache", "nausea"), [LAMOTRIGINE])) == "routine"


def test_a_lamotrigine_rash_is_urgent_whichever_medicine_the_patient_blames():
    blamed_other = SideEffectInput(2, 2, 2, frozenset({"rash"}), regimen_id=SERTRALINE.regimen_id)
    assert overall_severity(triage(blamed_other, [SERTRALINE, LAMOTRIGINE])) == "urgent"


def test_a_free_text_or_org_named_lamotrigine_is_recognised_by_name():
    free = RegimenFacts(9, "free:Lamotrigine XR 100", "Lamotrigine XR 100")
    assert rules_fired(triage(report("rash"), [free]))[0] == "rash-lamotrigine"


def test_agitation_with_sweating_on_an_ssri_is_possible_serotonin_syndrome():
    findings = triage(report("agitation", "sweating"), [SERTRALINE])
    assert findings[0].rule_id == "serotonin-syndrome" and findings[0].severity == "urgent"
    assert findings[0].confidence == "unverified" and "unverified" in findings[0].source
    assert "§D MAOI washouts and serotonin syndrome" in findings[0].source


def test_one_half_of_the_serotonin_combination_is_not_enough():
    assert overall_severity(triage(report("agitation", "confusion"), [SERTRALINE])) == "routine"
    assert overall_severity(triage(report("sweating", "diarrhoea", "fever"), [SERTRALINE])) == "routine"


def test_the_serotonin_rule_needs_a_serotonergic_drug():
    assert overall_severity(triage(report("confusion", "fever"), [QUETIAPINE])) == "routine"


def test_serotonergic_comes_from_the_catalogue_flag_or_else_the_classes():
    by_class = RegimenFacts(7, "free:Some TCA", "Some TCA", ("tca",))
    flagged = RegimenFacts(8, "tramadol", "Tramadol", ("opioid",), serotonergic=True)
    assert rules_fired(triage(report("confusion", "shivering"), [by_class]))[0] == "serotonin-syndrome"
    assert rules_fired(triage(report("confusion", "shivering"), [flagged]))[0] == "serotonin-syndrome"


def test_tremor_vomiting_and_unsteadiness_on_lithium_is_possible_toxicity():
    findings = triage(report("tremor", "vomiting", "unsteady"), [LITHIUM])
    assert findings[0].rule_id == "lithium-toxicity" and findings[0].severity == "urgent"
    assert "§D Lithium" in findings[0].source and findings[0].confidence == "unverified"


def test_lithium_toxicity_needs_all_three_kinds_of_sign():
    assert overall_severity(triage(report("tremor", "vomiting"), [LITHIUM])) == "routine"
    assert overall_severity(triage(report("tremor", "confusion"), [LITHIUM])) == "routine"
    assert overall_severity(triage(report("diarrhoea", "confusion"), [LITHIUM])) == "routine"
    assert rules_fired(triage(report("tremor", "diarrhoea", "confusion"), [LITHIUM]))[0] == "lithium-toxicity"


def test_lithium_signs_without_lithium_are_not_urgent():
    assert overall_severity(triage(report("tremor", "vomiting", "unsteady"), [QUETIAPINE])) == "routine"


def test_fibser_burden_4_is_routine_and_5_is_high():
    four, five = triage(report(burden=4), []), triage(report(burden=5), [])
    assert overall_severity(four) == "routine" and rules_fired(four) == ["fibser-burden-3-4"]
    assert overall_severity(five) == "high" and rules_fired(five) == ["fibser-burden-5-6"]
    assert "§A7" in five[0].source and "0–2 / 3–4 / 5–6" in five[0].source and "✔" in five[0].source
    assert "decrease the dose or switch" in five[0].reason
    assert overall_severity(triage(report(burden=6), [])) == "high"
    assert rules_fired(triage(report(burden=2), [])) == ["fibser-burden-0-2"]


def test_findings_are_most_urgent_first_and_the_burden_rule_always_answers():
    findings = triage(report("rash", burden=6), [LAMOTRIGINE])
    assert [f.severity for f in findings] == ["urgent", "high"]


def test_the_unverified_symptom_sets_are_configurable():
    stricter = TriageRules(serotonin_body=frozenset({"fever"}))
    assert (
        overall_severity(triage(report("agitation", "sweating"), [SERTRALINE], rules=stricter)) == "routine"
    )


# ---------------------------------------------------------------------------------------------
# Actions


def start(personas, key: str, name: str, classes: list[str]):
    return do_start_regimen(
        personas.patient,
        drug_key=key,
        drug_name=name,
        drug_classes=classes,
        dose_amount=50,
        times=["08:00"],
        reason="Start",
        acting_user=personas.prescriber,
        role="prescriber",
        effective_at=timezone.now() - timedelta(days=3),
    )


def send(personas, regimen=None, key="report-0001", **changes):
    values = {
        "regimen": regimen,
        "frequency": 3,
        "intensity": 3,
        "burden": 2,
        "symptoms": ["nausea"],
        "text": "",
        "idempotency_key": key,
        "acting_user": personas.patient_user,
    }
    values.update(changes)
    return do_report_side_effect(personas.patient, **values)


@pytest.mark.django_db
def test_a_double_submit_records_one_report_and_raises_one_alert(personas):
    regimen = start(personas, "sertraline", "Sertraline", ["ssri"])
    first, created = send(personas, regimen)
    again, created_again = send(personas, regimen)
    assert created and not created_again and first.pk == again.pk
    assert SideEffectReport.objects.count() == 1
    assert Alert.objects.filter(kind="side_effect").count() == 1
    assert AuditEvent.objects.filter(entity_type="SideEffectReport", action="create").count() == 1


@pytest.mark.django_db
def test_the_alert_goes_to_the_prescriber_and_the_therapist_gets_a_notice(personas):
    regimen = start(personas, "lamotrigine", "Lamotrigine", ["mood_stabiliser"])
    report, _ = send(personas, regimen, symptoms=["rash", "fever"], burden=5)
    assert report.severity == "urgent"
    assert [f["rule_id"] for f in report.triage] == ["rash-lamotrigine", "fibser-burden-5-6"]
    alert = Alert.objects.get()
    assert alert.kind == "side_effect" and alert.severity == "urgent"
    assert alert.route_to == ["prescriber"] and alert.rule_id == "rash-lamotrigine"
    assert alert.dedup_key == f"side_effect:{report.pk}"
    assert (alert.subject_type, alert.subject_id) == ("SideEffectReport", str(report.pk))
    assert "boxed warning" in alert.reason and "FIBSER burden 5" in alert.reason
    assert "§D Lamotrigine" in alert.source
    assert Notification.objects.filter(user=personas.prescriber, text__contains="Urgent alert").exists()
    assert Notification.objects.filter(
        user=personas.therapist, text__startswith="For your information"
    ).exists()
    assert not Notification.objects.filter(user=personas.care_manager).exists()


@pytest.mark.django_db
def test_each_report_gets_its_own_alert(personas):
    send(personas, key="report-0001")
    send(personas, key="report-0002")
    assert Alert.objects.filter(kind="side_effect", status=AlertStatus.OPEN).count() == 2


@pytest.mark.django_db
def test_triage_uses_the_catalogue_and_the_organisations_own_drugs(personas):
    own = OrgDrug.objects.create(organisation=personas.home, name="Serotonex", serotonergic=True)
    start(personas, own.key, "Serotonex", [])
    report, _ = send(personas, symptoms=["confusion", "shivering"])
    assert report.severity == "urgent" and report.triage[0]["rule_id"] == "serotonin-syndrome"
    facts = regimen_facts(
        [start(personas, "tramadol", "Tramadol", ["opioid"]), start(personas, "selegiline", "Selegiline", [])]
    )
    assert [f.serotonergic for f in facts] == [True, True]


@pytest.mark.django_db
def test_stopped_medicines_are_not_triaged(personas):
    regimen = start(personas, "lamotrigine", "Lamotrigine", ["mood_stabiliser"])
    do_change_regimen(
        regimen, kind="stop", reason="Rash risk", acting_user=personas.prescriber, role="prescriber"
    )
    report, _ = send(personas, symptoms=["rash"])
    assert report.severity == "routine"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"burden": 7}, "burden"),
        ({"frequency": "a"}, "frequency"),
        ({"intensity": -1}, "intensity"),
        ({"symptoms": ["hiccups"]}, "symptoms"),
        ({"symptoms": [], "text": ""}, "symptoms"),
        ({"symptoms": ["other"], "text": " "}, "text"),
        ({"idempotency_key": "short"}, "idempotency_key"),
    ],
)
def test_bad_input_names_the_field_and_records_nothing(personas, changes, field):
    with pytest.raises(MedicationError) as exc:
        send(personas, **changes)
    assert exc.value.field == field
    assert not SideEffectReport.objects.exists() and not Alert.objects.exists()


@pytest.mark.django_db
def test_another_patients_regimen_is_refused(personas):
    other = do_start_regimen(
        personas.other_patient,
        drug_key="sertraline",
        drug_name="Sertraline",
        drug_classes=["ssri"],
        dose_amount=50,
        times=["08:00"],
        reason="Start",
        acting_user=personas.prescriber,
    )
    with pytest.raises(MedicationError) as exc:
        send(personas, other)
    assert exc.value.field == "regimen"


@pytest.mark.django_db
def test_the_prescribers_response_resolves_the_alert_with_the_note(personas):
    report, _ = send(personas, burden=5)
    updated, changed = do_respond_to_side_effect(
        report,
        response="adjust",
        note="Take 25 mg from tomorrow",
        acting_user=personas.prescriber,
        role="prescriber",
    )
    assert changed and updated.response == "adjust" and updated.responded_by == personas.prescriber
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_by == personas.prescriber
    assert alert.resolution_note == "Adjust the dose: Take 25 mg from tomorrow"
    assert AuditEvent.objects.filter(entity_type="SideEffectReport", action="update").exists()
    # A double submit changes nothing; another answer afterwards is refused.
    _, again = do_respond_to_side_effect(
        report,
        response="adjust",
        note="Take 25 mg from tomorrow",
        acting_user=personas.prescriber,
        role="prescriber",
    )
    assert not again
    with pytest.raises(MedicationError) as exc:
        do_respond_to_side_effect(
            report, response="stop", note="Stop", acting_user=personas.prescriber, role="prescriber"
        )
    assert exc.value.field == "response"


@pytest.mark.django_db
def test_only_a_prescriber_responds_and_a_note_is_needed(personas):
    report, _ = send(personas)
    with pytest.raises(MedicationError) as exc:
        do_respond_to_side_effect(
            report, response="continue", note="ok", acting_user=personas.therapist, role="therapist"
        )
    assert exc.value.field == "role"
    with pytest.raises(MedicationError) as exc:
        do_respond_to_side_effect(
            report, response="continue", note=" ", acting_user=personas.prescriber, role="prescriber"
        )
    assert exc.value.field == "note"
    with pytest.raises(MedicationError) as exc:
        do_respond_to_side_effect(
            report, response="pray", note="x", acting_user=personas.prescriber, role="prescriber"
        )
    assert exc.value.field == "response"
    report.refresh_from_db()
    assert report.response == "" and Alert.objects.get().status == AlertStatus.OPEN


# ---------------------------------------------------------------------------------------------
# Clinician pages

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
READERS = {"prescriber", "therapist", "care_manager", "consultant", "consented"}


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def page_url(personas, name: str, report=None) -> str:
    kwargs = {"patient_id": personas.patient.pk}
    if report is not None:
        kwargs["report_id"] = report.pk
    return reverse(f"medications:{name}", kwargs=kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("name", ["side_effects", "side_effect"])
def test_the_team_and_consented_clinicians_read_reports_and_nobody_else(personas, name, persona):
    regimen = start(personas, "lamotrigine", "Lamotrigine", ["mood_stabiliser"])
    report, _ = send(personas, regimen, symptoms=["rash"])
    before = last_seq()
    response = personas.client_for(persona).get(
        page_url(personas, name, report if name == "side_effect" else None)
    )
    if persona in READERS:
        assert response.status_code == 200
        html = response.content.decode()
        assert "Lamotrigine" in html
        if name == "side_effect":
            assert "rash-lamotrigine" in html and "§D Lamotrigine" in html
    else:
        assert response.status_code == 404
        assert AuditEvent.objects.filter(outcome=Outcome.DENIED, seq__gt=before).exists()


@pytest.mark.django_db
def test_the_prescriber_responds_from_the_report_page(personas):
    report, _ = send(personas, burden=5)
    client = personas.client_for("prescriber")
    page = client.get(page_url(personas, "side_effect", report)).content.decode()
    assert "Record response" in page
    response = client.post(
        page_url(personas, "side_effect", report), {"response": "see", "note": "Let's talk on Friday"}
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.response == "see" and report.response_note == "Let's talk on Friday"
    assert Alert.objects.get().status == AlertStatus.RESOLVED
    after = client.get(page_url(personas, "side_effect", report)).content.decode()
    assert "See the patient" in after and "Record response" not in after


@pytest.mark.django_db
def test_a_bad_response_names_the_field_and_keeps_the_note(personas):
    report, _ = send(personas)
    response = personas.client_for("prescriber").post(
        page_url(personas, "side_effect", report), {"response": "", "note": "Keep going"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<strong>Your response:</strong>" in html and "Keep going</textarea>" in html


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(READERS - {"prescriber"}))
def test_readers_who_are_not_the_teams_prescriber_cannot_respond(personas, persona):
    report, _ = send(personas)
    client = personas.client_for(persona)
    assert "Record response" not in client.get(page_url(personas, "side_effect", report)).content.decode()
    before = last_seq()
    response = client.post(page_url(personas, "side_effect", report), {"response": "stop", "note": "Stop it"})
    assert response.status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, seq__gt=before).exists()
    report.refresh_from_db()
    assert report.response == "" and Alert.objects.get().status == AlertStatus.OPEN


@pytest.mark.django_db
def test_another_patients_report_is_not_found_under_this_patient(personas):
    theirs, _ = do_report_side_effect(
        personas.other_patient,
        regimen=None,
        frequency=1,
        intensity=1,
        burden=1,
        symptoms=["headache"],
        text="",
        idempotency_key="other-0001",
        acting_user=personas.other_patient_user,
    )
    before = last_seq()
    response = personas.client_for("prescriber").get(page_url(personas, "side_effect", theirs))
    assert response.status_code == 404
    assert AuditEvent.objects.filter(
        outcome=Outcome.DENIED, seq__gt=before, entity_type="SideEffectReport"
    ).exists()


@pytest.mark.django_db
def test_the_list_costs_the_same_number_of_queries_for_1_or_10_reports(personas):
    regimen = start(personas, "sertraline", "Sertraline", ["ssri"])
    client = personas.client_for("therapist")
    send(personas, regimen, key="report-0000")
    do_respond_to_side_effect(
        SideEffectReport.objects.get(),
        response="continue",
        note="ok",
        acting_user=personas.prescriber,
        role="prescriber",
    )
    with CaptureQueriesContext(connection) as one:
        assert client.get(page_url(personas, "side_effects")).status_code == 200
    for n in range(1, 10):
        send(personas, regimen, key=f"report-{n:04d}")
    with CaptureQueriesContext(connection) as ten:
        assert client.get(page_url(personas, "side_effects")).status_code == 200
    assert len(ten) == len(one)


# ---------------------------------------------------------------------------------------------
# Timeline


@pytest.mark.django_db
def test_reports_and_responses_are_on_the_timeline_for_medication_readers_only(personas):
    regimen = start(personas, "sertraline", "Sertraline", ["ssri"])
    report, _ = send(personas, regimen, symptoms=["nausea", "headache"])
    do_respond_to_side_effect(
        report,
        response="continue",
        note="It usually settles",
        acting_user=personas.prescriber,
        role="prescriber",
    )
    grant = grant_for(personas.consented, personas.patient)
    assert grant is not None
    events = collect(personas.patient, grant, ["side_effect"], None, 10).events
    assert [e.title for e in events] == [
        "Prescriber responded to a side effect (Sertraline): continue as prescribed",
        "Side effect reported (Sertraline), triaged routine",
    ]
    assert events[1].detail.startswith("Nausea, Headache.") and events[1].actor == "Pat Patient"
    assert events[0].actor == "Rita Prescriber"
    assert events[0].link == page_url(personas, "side_effect", report)
    admin = grant_for(personas.org_admin, personas.patient)
    assert admin is not None and collect(personas.patient, admin, ["side_effect"], None, 10).events == []


@pytest.mark.django_db
def test_every_control_of_the_response_form_is_labelled(personas):
    from tests.test_accessibility import unlabelled

    report, _ = send(personas)
    html = personas.client_for("prescriber").get(page_url(personas, "side_effect", report)).content.decode()
    assert "Record response" in html and unlabelled(html) == []
