"""The portal questionnaire and the clinician's in-session form, end to end over HTTP."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent, Outcome
from tandem.measures.models import InstrumentResponse
from tandem.measures.tests.helpers import answers
from tandem.plans import actions as plan_actions

pytestmark = pytest.mark.django_db
ANSWER = reverse("portal_measures:answer", kwargs={"instrument": "phq-9"})


def form_data(instrument, values, key="portal-key-0001", **extra):
    given = answers(instrument, values)
    from tandem.measures.definitions import get

    links = [i.link_id for i in get(instrument).items]
    data = {f"q{links.index(link) + 1}": code for link, code in given.items()}
    return {"key": key, **data, **extra}


def test_the_patient_sees_a_planned_questionnaire_as_due(personas):
    plan = plan_actions.do_create_plan(
        personas.patient,
        acting_user=personas.prescriber,
        content={
            "monitoring": [
                {"instrument": "phq9", "every_days": 14},
                {"instrument": "cssrs", "every_days": 30},
            ]
        },
    )
    plan_actions.do_set_plan_status(plan, "active", acting_user=personas.prescriber)
    page = personas.client_for("patient").get(reverse("portal_measures:due")).content.decode()
    assert ANSWER in page
    assert "go through these questions with you" in page  # the C-SSRS is given in session


def test_the_patient_answers_a_phq9_once_however_often_they_submit(personas):
    client = personas.client_for("patient")
    assert "Little interest or pleasure" in client.get(ANSWER).content.decode()
    data = form_data("phq-9", [1, 1, 1, 1, 1, 1, 1, 1, 0])
    first = client.post(ANSWER, data)
    second = client.post(ANSWER, data)
    response = InstrumentResponse.objects.get()
    assert first.status_code == second.status_code == 302
    assert (
        first["Location"]
        == second["Location"]
        == reverse("portal_measures:done", kwargs={"response_id": response.pk})
    )
    assert (response.total, response.administered_by, response.source) == (8, "patient", "portal")
    assert response.entered_by == personas.patient_user


def test_item9_above_0_shows_crisis_resources_on_the_confirmation(personas):
    client = personas.client_for("patient")
    done = client.post(ANSWER, form_data("phq-9", [0] * 8 + [1]), follow=True).content.decode()
    assert "Help is available now" in done and "My safety plan" in done


def test_item9_of_0_shows_no_safe_wording(personas):
    client = personas.client_for("patient")
    page = client.post(ANSWER, form_data("phq-9", [0] * 9), follow=True).content.decode()
    main = re.sub(r"<[^>]+>", " ", page.split('<main id="main">', 1)[1]).lower()
    assert "thank you" in main and "help is available now" not in main
    assert not re.search(r"\bsafe\b|no risk|low risk", main)


def test_an_out_of_range_answer_is_refused_by_its_question_and_the_rest_is_kept(personas):
    client = personas.client_for("patient")
    url = reverse("portal_measures:answer", kwargs={"instrument": "fibser"})
    page = client.post(url, {"key": "portal-key-0002", "q1": "2", "q2": "3", "q3": "9"})
    body = page.content.decode()
    assert page.status_code == 400
    assert "Question 3:" in body and "from 0 to 6" in body
    assert 'name="q1" value="2" checked' in body and 'name="q2" value="3" checked' in body
    assert not InstrumentResponse.objects.exists()


def test_an_unknown_answer_code_is_refused(personas):
    page = personas.client_for("patient").post(ANSWER, {"key": "portal-key-0003", "q9": "LA18938-3"})
    assert page.status_code == 400 and "Question 9:" in page.content.decode()
    assert not InstrumentResponse.objects.exists()


def test_a_partly_answered_form_is_stored_not_scored(personas):
    client = personas.client_for("patient")
    done = client.post(ANSWER, {"key": "portal-key-0004", "q1": "LA6570-1"}, follow=True).content.decode()
    response = InstrumentResponse.objects.get()
    assert not response.scored and len(response.missing) == 8
    assert "Some questions were left out" in done


def test_a_form_without_its_key_records_nothing(personas):
    page = personas.client_for("patient").post(ANSWER, form_data("phq-9", [0] * 9, key=""))
    assert page.status_code == 400 and "could not be sent" in page.content.decode()
    assert not InstrumentResponse.objects.exists()


@pytest.mark.parametrize("instrument", ["c-ssrs-screener", "who-5", "asrm", "tandem-visit-feedback", "nope"])
def test_instruments_without_reproducible_wording_or_scoring_are_not_in_the_portal(personas, instrument):
    url = reverse("portal_measures:answer", kwargs={"instrument": instrument})
    assert personas.client_for("patient").get(url).status_code == 404


def test_a_patient_cannot_open_another_patients_confirmation(personas):
    personas.client_for("patient").post(ANSWER, form_data("phq-9", [0] * 9))
    url = reverse("portal_measures:done", kwargs={"response_id": InstrumentResponse.objects.get().pk})
    assert personas.client_for("patient").get(url).status_code == 200
    for persona in ("other_patient", "therapist", "outsider"):
        before = AuditEvent.objects.filter(outcome=Outcome.DENIED).count()
        assert personas.client_for(persona).get(url).status_code == 404
        assert AuditEvent.objects.filter(outcome=Outcome.DENIED).count() == before + 1


# --- clinician ---------------------------------------------------------------------------------


def administer_url(personas, instrument):
    return reverse(
        "measures:administer", kwargs={"patient_id": personas.patient.pk, "instrument": instrument}
    )


def test_the_care_manager_gives_a_cssrs_in_session_and_sees_the_safety_rule(personas):
    client = personas.client_for("care_manager")
    page = client.get(administer_url(personas, "c-ssrs-screener")).content.decode()
    assert "does not reproduce this instrument" in page and "Placeholder" in page
    data = {"key": "session-key-01", "q1": "LA33-6", "q2": "LA32-8", "q6": "LA32-8"}
    done = client.post(administer_url(personas, "c-ssrs-screener"), data, follow=True).content.decode()
    response = InstrumentResponse.objects.get()
    assert (response.administered_by, response.source, response.band) == ("clinician", "clinician", "low")
    assert "Safety rule met" in done and "wish to be dead" in done


def test_an_incomplete_cssrs_shows_not_scored_with_its_lowest_possible_level(personas):
    client = personas.client_for("therapist")
    data = {"key": "session-key-02", "q1": "LA33-6", "q2": "LA33-6", "q6": "LA32-8"}
    done = client.post(administer_url(personas, "c-ssrs-screener"), data, follow=True).content.decode()
    assert "Not scored" in done and "at least low risk" in done


def test_the_clinician_records_audit_c_with_the_sex_threshold(personas):
    client = personas.client_for("prescriber")
    data = form_data("audit-c", [1, 1, 1], key="session-key-03", sex="female")
    client.post(administer_url(personas, "audit-c"), data)
    assert InstrumentResponse.objects.get().band == "positive"


def test_fibser_and_gad7_results_render_for_every_reader(personas):
    client = personas.client_for("prescriber")
    client.post(
        administer_url(personas, "fibser"), {"key": "session-key-04", "q1": "1", "q2": "2", "q3": "5"}
    )
    client.post(administer_url(personas, "gad-7"), form_data("gad-7", [0] * 7, key="session-key-05"))
    for response in InstrumentResponse.objects.all():
        url = reverse(
            "measures:response", kwargs={"patient_id": personas.patient.pk, "response_id": response.pk}
        )
        for persona in ("consultant", "consented"):
            assert personas.client_for(persona).get(url).status_code == 200
    listing = personas.client_for("consented").get(
        reverse("measures:responses", kwargs={"patient_id": personas.patient.pk})
    )
    body = listing.content.decode()
    assert "burden 5–6" in body and "minimal" in body
    assert "Administer in session" not in body  # the consented clinician reads only


def test_the_consultant_cannot_administer(personas):
    client = personas.client_for("consultant")
    assert (
        client.post(
            administer_url(personas, "phq-9"), form_data("phq-9", [0] * 9, key="session-key-06")
        ).status_code
        == 404
    )
    assert not InstrumentResponse.objects.exists()


def test_a_response_of_another_patient_is_not_found_under_this_one(personas):
    from tandem.measures.actions import do_record_response

    other = do_record_response(
        personas.other_patient,
        instrument="phq-2",
        answers=answers("phq-2", [0, 0]),
        administered_by="patient",
        source="portal",
        idempotency_key="other-key-01",
        acting_user=personas.other_patient_user,
    ).response
    url = reverse("measures:response", kwargs={"patient_id": personas.patient.pk, "response_id": other.pk})
    assert personas.client_for("therapist").get(url).status_code == 404


def test_the_responses_page_takes_a_fixed_number_of_queries(personas, django_assert_max_num_queries):
    client = personas.client_for("therapist")
    url = reverse("measures:responses", kwargs={"patient_id": personas.patient.pk})
    client.get(url)
    for n in range(3):
        client.post(administer_url(personas, "phq-2"), form_data("phq-2", [n, n], key=f"session-key-1{n}"))
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    count = len(few)
    for n in range(10):
        client.post(
            administer_url(personas, "gad-2"), form_data("gad-2", [1, n % 3], key=f"session-key-2{n}")
        )
    with django_assert_max_num_queries(count):
        client.get(url)
