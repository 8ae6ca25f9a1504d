"""Systematic case review: the weekly list, requests, recommendations becoming hand-offs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tandem.handoffs.actions import do_complete_handoff
from tandem.handoffs.models import Handoff
from tandem.lib.timeline import collect
from tandem.patients.access import grant_for
from tandem.patients.models import CareTeamMember
from tandem.registry.actions import RegistryError, do_record_recommendation, do_request_review, week_of
from tandem.registry.models import Recommendation, ReviewRequest
from tandem.registry.review import review_list
from tandem.registry.tests.helpers import enrol, signal
from tandem.safety.models import SafetyFlag

pytestmark = pytest.mark.django_db


def _list(personas, week=None):
    from tandem.patients.access import patients_for_clinician

    today = timezone.localdate()
    return review_list(patients_for_clinician(personas.consultant), week or week_of(today), today)


def test_the_list_gathers_new_not_improving_flagged_and_requested(personas):
    enrol(personas.patient, 200)
    assert _list(personas) == []
    signal(personas.patient, "phq-9", "early_non_improvement")
    SafetyFlag.objects.create(patient=personas.patient)
    do_request_review(personas.patient, acting_user=personas.therapist, reason="Sleep worse")
    (item,) = _list(personas)
    assert item.reasons[:2] == ["PHQ-9: Early non-improvement", "Open safety flag"]
    assert item.reasons[-1].startswith("Requested by Theo Therapist")


@pytest.mark.parametrize(("days", "listed"), [(27, True), (28, False)])
def test_new_patients_are_those_enrolled_in_the_last_4_weeks(personas, days, listed):
    # The review list is the organisation's: its days are the server's (settings.TIME_ZONE),
    # which may already be tomorrow in the patient's time zone.
    CareTeamMember.objects.filter(patient=personas.patient).update(
        start=timezone.localdate() - timedelta(days=days)
    )
    assert bool(_list(personas)) is listed


def test_a_recommendation_becomes_a_hand_off_tracked_to_done(personas):
    rec, created = do_record_recommendation(
        personas.patient, consultant=personas.consultant, area="medication",
        text="Increase sertraline to 100 mg", recipient=personas.prescriber.pk, idempotency_key="k1",
    )  # fmt: skip
    assert created
    handoff = Handoff.objects.get(pk=rec.handoff_id or 0)
    assert handoff.kind == "case_review" and handoff.recipient == personas.prescriber
    assert handoff.details == {"area": "medication", "recommendation": "Increase sertraline to 100 mg"}
    again, created = do_record_recommendation(
        personas.patient, consultant=personas.consultant, area="medication",
        text="Increase sertraline to 100 mg", recipient=personas.prescriber.pk, idempotency_key="k1",
    )  # fmt: skip
    assert not created and again.pk == rec.pk and Handoff.objects.count() == 1
    do_complete_handoff(handoff, acting_user=personas.prescriber, note="Done at visit")
    page = personas.client_for("consultant").get(reverse("registry:review")).content.decode()
    assert "Increase sertraline" in page and "Done" in page


@pytest.mark.parametrize(
    ("area", "recipient", "field"),
    [("medication", "therapist", "recipient"), ("therapy", "prescriber", "recipient"),
     ("drugs", "prescriber", "area"), ("other", "outsider", "recipient")],
)  # fmt: skip
def test_recommendations_go_to_the_right_role(personas, area, recipient, field):
    with pytest.raises(RegistryError) as exc:
        do_record_recommendation(
            personas.patient, consultant=personas.consultant, area=area, text="x",
            recipient=getattr(personas, recipient).pk,
        )  # fmt: skip
    assert exc.value.field == field
    assert not Recommendation.objects.exists()


def test_a_bad_recommendation_keeps_what_was_typed(personas):
    url = reverse("registry:recommend", kwargs={"patient_id": personas.patient.pk})
    response = personas.client_for("consultant").post(
        url,
        {"area": "therapy", "text": "Add behavioural activation", "recipient": str(personas.prescriber.pk)},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "<strong>Send to:</strong>" in body and "Add behavioural activation" in body


def test_only_the_consultant_records_recommendations(personas):
    url = reverse("registry:recommend", kwargs={"patient_id": personas.patient.pk})
    response = personas.client_for("care_manager").post(
        url, {"area": "other", "text": "x", "recipient": str(personas.therapist.pk)}
    )
    assert response.status_code == 404
    assert not Recommendation.objects.exists()


def test_a_team_member_requests_a_review_once_per_key(personas):
    url = reverse("registry:request_review", kwargs={"patient_id": personas.patient.pk})
    client = personas.client_for("therapist")
    for _ in range(2):
        response = client.post(url, {"reason": "Not sleeping", "request_key": "r1"})
        assert response.status_code == 302
    assert ReviewRequest.objects.count() == 1
    assert client.post(url, {"reason": " ", "request_key": "r2"}).status_code == 400


def test_earlier_weeks_show_what_was_recorded(personas):
    row, _ = do_request_review(personas.patient, acting_user=personas.therapist, reason="Check lithium")
    last_week = row.week - timedelta(days=7)
    ReviewRequest.objects.filter(pk=row.pk).update(week=last_week)
    enrol(personas.patient, 200)
    response = personas.client_for("consultant").get(
        reverse("registry:review"), {"week": last_week.isoformat()}
    )
    assert response.status_code == 200 and "Check lithium" in response.content.decode()
    response = personas.client_for("consultant").get(reverse("registry:review"), {"week": "soon"})
    assert response.status_code == 400 and "week:" in response.content.decode()


def test_the_review_history_is_on_the_timeline(personas):
    do_request_review(personas.patient, acting_user=personas.therapist, reason="Sleep worse")
    do_record_recommendation(
        personas.patient, consultant=personas.consultant, area="therapy", text="Add BA",
        recipient=personas.therapist.pk,
    )  # fmt: skip
    grant = grant_for(personas.care_manager, personas.patient)
    assert grant is not None
    page = collect(personas.patient, grant, None, None, 20)
    titles = [e.title for e in page.events]
    assert any("Case review requested" in t for t in titles)
    assert any("Case-review recommendation (therapy)" in t for t in titles)
