"""The hand-off pages: the form (bad input named by field, nothing typed lost, double submit
sends once), the task buttons (recipient only), and "My tasks" (fixed query count, only
patients the clinician can still access)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent, Outcome
from tandem.handoffs.kinds import due_input
from tandem.handoffs.models import Handoff, HandoffStatus
from tandem.handoffs.tests.helpers import observation
from tandem.patients.models import CareTeamMember

pytestmark = pytest.mark.django_db


def new_url(personas, kind: str = "") -> str:
    url = reverse("handoffs:new", kwargs={"patient_id": personas.patient.pk})
    return f"{url}?kind={kind}" if kind else url


def form(personas, **extra) -> dict:
    due = due_input(timezone.now() + timedelta(days=2), personas.patient.tz)
    return {
        "kind": "session_observation",
        "recipient": str(personas.prescriber.pk),
        "observation_type": "side_effect",
        "observation": "Raised a tremor since the dose went up",
        "due_by": due,
        "key": "form-key-000001",
        **extra,
    }


def test_the_form_shows_the_kinds_fields_and_only_eligible_recipients(personas):
    response = personas.client_for("therapist").get(new_url(personas, "session_observation"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Side effect raised in session" in html and 'name="observation"' in html
    assert "Rita Prescriber (Prescriber)" in html
    assert "Cara Manager" not in html  # not a prescriber: not offered for this kind
    assert "Theo Therapist (" not in html  # not to oneself
    assert "America/Chicago" in html


def test_an_unknown_kind_in_the_address_is_named(personas):
    response = personas.client_for("therapist").get(new_url(personas, "gossip"))
    assert response.status_code == 400
    assert "<strong>Kind:</strong> choose one of" in response.content.decode()


def test_sending_from_the_form_creates_the_task_and_a_double_submit_sends_once(personas):
    client = personas.client_for("therapist")
    first = client.post(new_url(personas), form(personas))
    second = client.post(new_url(personas), form(personas))
    handoff = Handoff.objects.get()
    detail = reverse("handoffs:detail", kwargs={"patient_id": personas.patient.pk, "handoff_id": handoff.pk})
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == detail
    assert handoff.recipient == personas.prescriber and handoff.kind == "session_observation"


def test_bad_input_names_the_field_and_keeps_what_was_typed(personas):
    client = personas.client_for("therapist")
    response = client.post(new_url(personas), form(personas, recipient=str(personas.colleague.pk)))
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>To:</strong> Col League is not on Pat Patient&#x27;s active care team" in html
    assert "Raised a tremor since the dose went up" in html
    response = client.post(new_url(personas), form(personas, due_by="soon"))
    assert response.status_code == 400 and "<strong>Due by:</strong>" in response.content.decode()
    response = client.post(new_url(personas), form(personas, observation=""))
    assert (
        response.status_code == 400
        and "<strong>Observation:</strong> this is required" in response.content.decode()
    )
    assert not Handoff.objects.exists()


def test_a_form_without_a_usable_key_sends_nothing_and_gets_a_fresh_key(personas):
    client = personas.client_for("therapist")
    response = client.post(new_url(personas), form(personas, key=""))
    html = response.content.decode()
    assert response.status_code == 400
    assert "Key: this form could not be sent" in html
    assert "Raised a tremor since the dose went up" in html
    assert not Handoff.objects.exists()
    fresh = html.split('name="key" value="')[1].split('"')[0]
    assert len(fresh) >= 8
    assert client.post(new_url(personas), form(personas, key=fresh)).status_code == 302
    assert Handoff.objects.count() == 1


def test_only_the_recipient_sees_and_uses_the_task_buttons(personas):
    handoff = observation(personas)
    kwargs = {"patient_id": personas.patient.pk, "handoff_id": handoff.pk}
    detail = reverse("handoffs:detail", kwargs=kwargs)
    assert "Mark done" in personas.client_for("prescriber").get(detail).content.decode()
    assert "Mark done" not in personas.client_for("therapist").get(detail).content.decode()
    before = AuditEvent.objects.count()
    response = personas.client_for("therapist").post(
        reverse("handoffs:complete", kwargs=kwargs), {"note": "x"}
    )
    assert response.status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, pk__gt=before).exists()
    assert Handoff.objects.get().status == HandoffStatus.OPEN


def test_the_recipient_completes_from_the_page_and_a_missing_note_is_named(personas):
    handoff = observation(personas)
    kwargs = {"patient_id": personas.patient.pk, "handoff_id": handoff.pk}
    client = personas.client_for("prescriber")
    assert client.post(reverse("handoffs:acknowledge", kwargs=kwargs)).status_code == 302
    assert client.post(reverse("handoffs:acknowledge", kwargs=kwargs)).status_code == 302
    response = client.post(reverse("handoffs:complete", kwargs=kwargs), {"note": ""})
    assert response.status_code == 400
    assert "<strong>What you did:</strong> say what you did" in response.content.decode()
    assert (
        client.post(reverse("handoffs:complete", kwargs=kwargs), {"note": "Lowered the dose"}).status_code
        == 302
    )
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.DONE and handoff.done_note == "Lowered the dose"


def test_another_patients_handoff_id_is_not_found_under_this_patient(personas):
    handoff = observation(personas)
    url = reverse(
        "handoffs:detail", kwargs={"patient_id": personas.other_patient.pk, "handoff_id": handoff.pk}
    )
    assert personas.client_for("colleague").get(url).status_code == 404


def test_the_list_shows_overdue_handoffs(personas):
    handoff = observation(personas)
    Handoff.objects.filter(pk=handoff.pk).update(due_by=timezone.now() - timedelta(minutes=1))
    html = (
        personas.client_for("therapist")
        .get(reverse("handoffs:list", kwargs={"patient_id": personas.patient.pk}))
        .content.decode()
    )
    assert "Overdue" in html and "Session observation for the prescriber" in html


def _more_patients(personas, n: int) -> None:
    from tandem.lib.testing import make_patient

    for i in range(n):
        patient = make_patient(personas.home, f"RC-X{i}", "Extra", f"Patient{i}")
        for user, role in [(personas.prescriber, "prescriber"), (personas.therapist, "therapist")]:
            CareTeamMember.objects.create(
                patient=patient,
                user=user,
                role=role,
                organisation=personas.home,
                start=personas.consent.start,
            )
        personas.patient = patient
        observation(personas)


def test_my_tasks_has_a_fixed_number_of_queries(personas):
    url = reverse("handoff_tasks:mine")
    client = personas.client_for("prescriber")
    observation(personas)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    _more_patients(personas, 6)
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert "Extra Patient5" in html
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_my_tasks_shows_overdue_tasks_and_what_i_sent(personas):
    handoff = observation(personas)
    Handoff.objects.filter(pk=handoff.pk).update(due_by=timezone.now() - timedelta(hours=1))
    html = personas.client_for("prescriber").get(reverse("handoff_tasks:mine")).content.decode()
    assert "1 overdue" in html and "Overdue" in html
    sent = personas.client_for("therapist").get(reverse("handoff_tasks:mine")).content.decode()
    assert "Sent by me" in sent and "Rita Prescriber" in sent


def test_my_tasks_leave_out_patients_i_can_no_longer_access(personas):
    observation(personas)
    CareTeamMember.objects.filter(patient=personas.patient, user=personas.prescriber).update(
        end=timezone.localdate() - timedelta(days=1)
    )
    html = personas.client_for("prescriber").get(reverse("handoff_tasks:mine")).content.decode()
    assert "Pat Patient" not in html and "Nothing to do." in html


def test_my_tasks_is_audited_with_the_patients_it_showed(personas):
    observation(personas)
    personas.client_for("prescriber").get(reverse("handoff_tasks:mine"))
    event = AuditEvent.objects.filter(entity_type="HandoffTasks").latest("seq")
    assert event.extra == {"patients": [personas.patient.pk]}
