"""Messages in the portal: the patient sees only the threads shared with them, is told messages
are not for emergencies, sees crisis resources at once after writing crisis words, and a double
tap sends once. Pages fit 360 px (Playwright: test_browser_handoff.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.collab.models import Alert
from tandem.handoffs.models import Audience, Message, Thread
from tandem.handoffs.tests.helpers import shared_thread

pytestmark = pytest.mark.django_db


def test_the_composer_says_messages_are_not_for_emergencies(personas):
    html = personas.client_for("patient").get(reverse("portal_handoffs:message_new")).content.decode()
    assert "Messages are not for emergencies." in html
    assert 'href="tel:988"' in html


def test_the_patient_writes_and_a_double_tap_sends_once(personas):
    client = personas.client_for("patient")
    data = {"subject": "Appointment", "body": "Can we move Thursday?", "key": "portal-key-01"}
    first = client.post(reverse("portal_handoffs:message_new"), data)
    second = client.post(reverse("portal_handoffs:message_new"), data)
    thread = Thread.objects.get()
    assert (
        first["Location"]
        == second["Location"]
        == reverse("portal_handoffs:thread", kwargs={"thread_id": thread.pk})
    )
    assert thread.audience == Audience.TEAM_PATIENT and Message.objects.count() == 1
    html = client.get(first["Location"]).content.decode()
    assert "Can we move Thursday?" in html and "Help is available now" not in html


def test_bad_input_is_named_and_kept(personas):
    client = personas.client_for("patient")
    response = client.post(
        reverse("portal_handoffs:message_new"), {"subject": "Hi", "body": "", "key": "portal-key-02"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<strong>Message:</strong> write a message" in html and 'value="Hi"' in html
    response = client.post(
        reverse("portal_handoffs:message_new"), {"subject": "Hi", "body": "Text kept", "key": ""}
    )
    assert response.status_code == 400 and "Text kept" in response.content.decode()
    assert not Thread.objects.exists()


def test_crisis_words_show_crisis_resources_at_once_with_the_organisations_line(personas):
    personas.home.crisis_line = "1-800-555-0199"
    personas.home.save(update_fields=["crisis_line"])
    client = personas.client_for("patient")
    data = {"subject": "Bad night", "body": "I think I will take an OVERDOSE tonight", "key": "portal-key-03"}
    response = client.post(reverse("portal_handoffs:message_new"), data, follow=True)
    html = response.content.decode()
    assert "Help is available now" in html
    assert 'href="tel:1-800-555-0199"' in html
    assert Alert.objects.filter(kind="message_crisis", severity="urgent").count() == 1


def test_a_reply_with_crisis_words_shows_crisis_resources(personas):
    thread = shared_thread(personas)
    client = personas.client_for("patient")
    url = reverse("portal_handoffs:reply", kwargs={"thread_id": thread.pk})
    response = client.post(
        url, {"body": "honestly I've been cutting myself", "key": "portal-key-04"}, follow=True
    )
    assert "Help is available now" in response.content.decode()
    client.post(url, {"body": "I feel a bit better now", "key": "portal-key-05"})
    page = client.get(reverse("portal_handoffs:thread", kwargs={"thread_id": thread.pk})).content.decode()
    assert "Help is available now" not in page and "Messages are not for emergencies." in page


def test_the_patient_sees_shared_threads_only_with_read_receipts(personas):
    shared = shared_thread(personas)
    team_only = shared_thread(personas, audience=Audience.TEAM, body="Team only talk")
    client = personas.client_for("patient")
    html = client.get(reverse("portal_handoffs:messages")).content.decode()
    assert html.count("Sleep") == 1
    assert (
        client.get(reverse("portal_handoffs:thread", kwargs={"thread_id": team_only.pk})).status_code == 404
    )
    client.post(
        reverse("portal_handoffs:reply", kwargs={"thread_id": shared.pk}),
        {"body": "Badly", "key": "portal-key-06"},
    )
    personas.client_for("therapist").get(
        reverse("handoffs:thread", kwargs={"patient_id": personas.patient.pk, "thread_id": shared.pk})
    )
    page = client.get(reverse("portal_handoffs:thread", kwargs={"thread_id": shared.pk})).content.decode()
    assert "Read by: Theo Therapist" in page
    assert "crisis words" not in page


@pytest.mark.parametrize("persona", ["other_patient", "therapist", "outsider", "org_admin"])
def test_nobody_else_opens_or_replies_to_the_patients_thread(personas, persona):
    thread = shared_thread(personas)
    client = personas.client_for(persona)
    assert client.get(reverse("portal_handoffs:thread", kwargs={"thread_id": thread.pk})).status_code == 404
    reply = client.post(
        reverse("portal_handoffs:reply", kwargs={"thread_id": thread.pk}), {"body": "x", "key": "intruder-01"}
    )
    assert reply.status_code == 404
    assert thread.messages.count() == 1


def test_malformed_thread_ids_are_404(personas):
    client = personas.client_for("patient")
    assert client.get("/portal/messages/99999999999999999999999/").status_code == 404
    assert client.get("/portal/messages/0/").status_code == 404
