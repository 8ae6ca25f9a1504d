"""A low or falling rating notifies the visit's clinician alone, and the content never reaches
the rest of the team: no team Alert, no scores or words in the notice or the audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent
from tandem.collab.models import Alert
from tandem.feedback.tests.factories import give, visit
from tandem.therapy.models import SessionKind

pytestmark = pytest.mark.django_db

WORDS = "I felt judged when I talked about drinking"


def notices(user):
    return list(Notification.objects.filter(user=user))


@pytest.mark.parametrize(
    ("scores", "flagged"),
    [
        ({"overall": 5}, True),
        ({"overall": 6}, False),
        ({"heard": 3}, True),
        ({"heard": 4}, False),
        ({"goals": 3}, True),
        ({"approach": 3}, True),
        ({"approach": 4}, False),
    ],
)
def test_low_scores_notify_the_visits_clinician_at_the_thresholds(personas, scores, flagged):
    feedback = give(visit(personas.patient, personas.therapist), personas.patient_user, **scores)
    assert bool(feedback.findings) is flagged
    assert len(notices(personas.therapist)) == (1 if flagged else 0)


@pytest.mark.parametrize(("overall", "flagged"), [(6, True), (7, False)])
def test_a_drop_of_three_below_the_pairs_previous_three_notifies_at_the_boundary(personas, overall, flagged):
    p = personas
    for days in (13, 12, 11):
        give(visit(p.patient, p.therapist, days_ago=days), p.patient_user, overall=9)
    # Another clinician's ratings do not count towards this pair.
    give(visit(p.patient, p.prescriber, days_ago=5, kind=SessionKind.MEDICATION), p.patient_user, overall=2)
    Notification.objects.all().delete()

    feedback = give(visit(p.patient, p.therapist, days_ago=1), p.patient_user, overall=overall)

    assert [f["rule_id"] for f in feedback.findings] == (["feedback.drop"] if flagged else [])
    assert len(notices(p.therapist)) == (1 if flagged else 0)


def test_a_prescribers_low_rating_notifies_the_prescriber_not_the_therapist(personas):
    p = personas
    give(visit(p.patient, p.prescriber, kind=SessionKind.MEDICATION), p.patient_user, overall=2)
    assert len(notices(p.prescriber)) == 1
    assert notices(p.therapist) == []


def test_no_other_team_member_can_read_the_scores_through_the_alert(personas):
    p = personas
    give(
        visit(p.patient, p.therapist),
        p.patient_user,
        texts={"not_working": WORDS},
        heard=2,
        goals=7,
        approach=7,
        overall=4,
    )

    # No team Alert at all: the team's alert lists have nothing to show.
    assert not Alert.objects.exists()
    alerts_page = reverse("collab:patient_alerts", kwargs={"patient_id": p.patient.pk})
    for persona in ("prescriber", "consultant", "care_manager"):
        client = p.client_for(persona)
        for url in (alerts_page, reverse("collab:inbox"), reverse("notifications")):
            body = client.get(url).content.decode()
            assert WORDS not in body and "Heard and understood" not in body, (persona, url)
    # Only the therapist is notified, and the notice carries no score and no words.
    (notice,) = Notification.objects.all()
    assert notice.user == p.therapist
    assert not any(ch.isdigit() for ch in notice.text)
    assert WORDS not in notice.text
    # The link opens the feedback page for the therapist only.
    assert notice.link.startswith(reverse("feedback:list", kwargs={"patient_id": p.patient.pk}))
    path = notice.link.split("#")[0]
    assert p.client_for("therapist").get(path).status_code == 200
    assert WORDS in p.client_for("therapist").get(path).content.decode()
    for persona in ("prescriber", "consultant", "org_admin", "colleague"):
        assert p.client_for(persona).get(path).status_code == 404, persona
    # The audit log (which an organisation's administrator reads) has no scores or words.
    event = AuditEvent.objects.filter(entity_type="VisitFeedback", action="create").get()
    assert set(event.extra) == {"session", "clinician", "flagged"}
    assert WORDS not in str(event.extra)


def test_the_feedback_page_shows_the_flag_and_its_rule(personas):
    p = personas
    give(visit(p.patient, p.therapist), p.patient_user, overall=5)
    body = p.client_for("therapist").get(reverse("feedback:list", kwargs={"patient_id": p.patient.pk}))
    text = body.content.decode()
    assert "Low rating: overall 5 (≤ 5)." in text
    assert "feedback.low" in text


def test_a_clinician_off_the_team_is_not_notified(personas):
    from datetime import timedelta

    from django.utils import timezone

    from tandem.patients.models import CareTeamMember

    p = personas
    session = visit(p.patient, p.therapist)
    CareTeamMember.objects.filter(patient=p.patient, user=p.therapist).update(
        end=timezone.localdate() - timedelta(days=1)
    )
    give(session, p.patient_user, overall=1)
    assert notices(p.therapist) == []
