"""The patient turns questionnaire reminder e-mails off and on in the portal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.measures.models import QuestionnaireReminderPreference
from tandem.measures.reminders import emails_on

pytestmark = pytest.mark.django_db
URL = reverse("portal_measures:reminder_emails")
DUE = reverse("portal_measures:due")


def test_emails_are_on_until_the_patient_turns_them_off_and_back_on(personas):
    client = personas.client_for("patient")
    assert emails_on(personas.patient.pk) is True
    assert b"Stop questionnaire e-mails" in client.get(DUE).content
    response = client.post(URL, {"email": "off"}, follow=True)
    assert response.redirect_chain == [(DUE, 302)]
    assert b"We will no longer e-mail you about questionnaires." in response.content
    assert b"E-mail me when a questionnaire is due" in response.content
    assert emails_on(personas.patient.pk) is False
    client.post(URL, {"email": "on"})
    assert emails_on(personas.patient.pk) is True
    events = AuditEvent.objects.filter(entity_type="QuestionnaireReminderPreference").order_by("pk")
    assert [(e.actor_id, e.patient_id, e.extra["email"]) for e in events] == [
        (personas.patient_user.pk, personas.patient.pk, False),
        (personas.patient_user.pk, personas.patient.pk, True),
    ]


def test_the_same_choice_twice_changes_and_audits_nothing_more(personas):
    client = personas.client_for("patient")
    client.post(URL, {"email": "off"})
    client.post(URL, {"email": "off"})
    assert AuditEvent.objects.filter(entity_type="QuestionnaireReminderPreference").count() == 1


def test_a_patient_changes_only_their_own_choice(personas):
    personas.client_for("other_patient").post(URL, {"email": "off"})
    assert emails_on(personas.patient.pk) is True
    assert emails_on(personas.other_patient.pk) is False


@pytest.mark.parametrize("persona", ["therapist", "prescriber", "outsider"])
def test_anyone_but_a_patient_gets_404_and_changes_nothing(personas, persona):
    assert personas.client_for(persona).post(URL, {"email": "off"}).status_code == 404
    assert not QuestionnaireReminderPreference.objects.exists()


def test_the_switch_answers_post_only(personas):
    assert personas.client_for("patient").get(URL).status_code == 405
