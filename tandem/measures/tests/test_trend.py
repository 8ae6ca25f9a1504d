"""Trend pages: the clinician's chart with bands, targets, response and remission lines,
medication changes and sessions; the item view; the PDF; the portal's own trend; the Measures
tab's latest scores. Query counts are pinned."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import Action, AuditEvent
from tandem.measures.signals import job
from tandem.measures.tests.t2t_helpers import score, sessions, start_sertraline
from tandem.medications.actions import do_change_regimen
from tandem.plans import actions as plan_actions

pytestmark = pytest.mark.django_db


def url(personas, instrument="phq-9", name="measures:trend"):
    return reverse(name, kwargs={"patient_id": personas.patient.pk, "instrument": instrument})


@pytest.fixture
def history(personas):
    now = timezone.now()
    started = now - timedelta(weeks=10)
    regimen = start_sertraline(personas, started)
    do_change_regimen(
        regimen,
        kind="increase",
        dose_amount=Decimal(100),
        reason="Less than 20 % better at week 4",
        acting_user=personas.prescriber,
        role="prescriber",
        effective_at=started + timedelta(weeks=4),
    )
    sessions(personas, started + timedelta(days=2), attended=3, missed=1)
    for n, total in enumerate((19, 17, 14, 11, 8)):
        score(personas, "phq-9", total, started - timedelta(days=1) + timedelta(weeks=2 * n), f"h{n}")
    plan = plan_actions.do_create_plan(
        personas.patient,
        acting_user=personas.prescriber,
        content={
            "goals": [{"text": "Feel like myself again", "measure": "phq9", "comparator": "<", "target": 10}]
        },
    )
    plan_actions.do_set_plan_status(plan, "active", acting_user=personas.prescriber)
    job.evaluate_patient(personas.patient, now)
    return now


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_trend_shows_bands_lines_treatment_and_a_table(personas, history):
    page = text(personas.client_for("care_manager").get(url(personas)))
    for band in ("none-minimal", "mild", "moderate", "moderately severe", "severe"):
        assert f"<title>{band}</title>" in page
    assert "Plan target: PHQ-9 below 10" in page
    assert "Response: 50 % below baseline 19 (9.5)" in page
    assert "Remission: below 5" in page
    assert "sertraline started, 50 mg" in page and "sertraline increased to 100 mg" in page
    assert page.count("Therapy session attended") >= 3
    assert '<th scope="col">Date</th>' in page and '<td data-label="Score">8</td>' in page
    assert "Treat-to-target: Response" in page


def test_without_a_plan_target_the_target_is_remission(personas):
    now = timezone.now()
    score(personas, "gad-7", 12, now - timedelta(days=20), "g1")
    page = text(personas.client_for("therapist").get(url(personas, "gad-7")))
    assert "Target (no plan target): remission, below 5" in page


def test_one_question_can_be_followed_over_time(personas, history):
    page = text(personas.client_for("prescriber").get(url(personas) + "?item=/44259-0"))
    assert "Question 3: Trouble falling or staying asleep" in page
    assert "Response:" not in page  # the lines belong to the total
    assert 'value="/44259-0" selected' in page


def test_an_unknown_question_is_named_and_the_total_shown(personas, history):
    response = personas.client_for("prescriber").get(url(personas) + "?item=nonsense")
    assert response.status_code == 200
    assert "item: &#x27;nonsense&#x27; is not a scored question of the PHQ-9" in response.content.decode()


def test_an_instrument_without_a_trend_is_not_found(personas):
    assert personas.client_for("prescriber").get(url(personas, "c-ssrs-screener")).status_code == 404
    assert personas.client_for("prescriber").get(url(personas, "nope")).status_code == 404


def test_the_trend_takes_a_fixed_number_of_queries(personas, history):
    client = personas.client_for("care_manager")
    client.get(url(personas))
    with CaptureQueriesContext(connection) as few:
        client.get(url(personas))
    now = timezone.now()
    for n in range(6):
        score(personas, "phq-9", 9, now - timedelta(days=6 - n, hours=1), f"more{n}")
    sessions(personas, now - timedelta(days=5), attended=2)
    with CaptureQueriesContext(connection) as many:
        client.get(url(personas))
    assert len(few) == len(many) == 16, [q["sql"] for q in many]


def test_the_pdf_is_one_page_and_its_export_is_audited(personas, history):
    response = personas.client_for("care_manager").get(url(personas, name="measures:trend_pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    body = response.content
    assert (
        body.startswith(b"%PDF")
        and body.count(b"/Type /Page\n") + body.count(b"/Type /Page ") + body.count(b"/Type /Page>") == 1
    )
    assert "attachment" in response["Content-Disposition"]
    assert AuditEvent.objects.filter(
        action=Action.EXPORT, patient=personas.patient, extra__format="pdf"
    ).exists()


def test_the_patient_sees_their_own_trend_in_plain_words(personas, history):
    response = personas.client_for("patient").get(
        reverse("portal_measures:trend", kwargs={"instrument": "phq-9"})
    )
    page = text(response)
    assert response.status_code == 200
    assert "Your latest score was <strong>8</strong>" in page and "A lower score means fewer symptoms" in page
    assert "Your goal: PHQ-9 below 10" in page and "Half of your first score" in page
    assert "sertraline increased to 100 mg" in page
    main = re.sub(r"<[^>]+>", " ", page.split('<main id="main">', 1)[1]).lower()
    assert not re.search(r"\bsafe\b|no risk", main)


def test_the_portal_trend_of_item_9_never_says_safe(personas, history):
    page = personas.client_for("patient").get(
        reverse("portal_measures:trend", kwargs={"instrument": "phq-9"}) + "?item=/44260-8"
    )
    main = re.sub(r"<[^>]+>", " ", page.content.decode().split('<main id="main">', 1)[1]).lower()
    assert "question 9" in main and not re.search(r"\bsafe\b|no risk", main)


def test_the_measures_tab_shows_the_latest_scores_with_links_to_trends(personas, history):
    page = text(
        personas.client_for("consultant").get(
            reverse("measures:responses", kwargs={"patient_id": personas.patient.pk})
        )
    )
    assert "Latest scores" in page and url(personas) in page
    assert '<span class="tag">Response</span>' in page
