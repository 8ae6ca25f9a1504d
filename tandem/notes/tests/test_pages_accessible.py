"""Every form control of the notes pages has a label and every button a name; the pages work
without a single unlabelled input at any width (no layout tables for forms)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tandem.notes.tests.helpers import attended_session, private_note, signed_note
from tests.test_accessibility import unlabelled

pytestmark = pytest.mark.django_db


def test_every_control_of_the_notes_pages_is_labelled(personas):
    pid = personas.patient.pk
    draft_session = attended_session(personas.patient, personas.therapist, days_ago=1)
    note = signed_note(personas.patient, personas.therapist, days_ago=8)
    private = private_note(personas.patient, personas.therapist, "Private words")
    therapist = personas.client_for("therapist")
    urls = [
        reverse("notes:list", kwargs={"patient_id": pid}),
        reverse("notes:progress_edit", kwargs={"patient_id": pid, "session_id": draft_session.pk}),
        reverse("notes:progress", kwargs={"patient_id": pid, "session_id": note.session_id}),
        reverse("notes:private_list", kwargs={"patient_id": pid}),
        reverse("notes:private_new", kwargs={"patient_id": pid}),
        reverse("notes:private", kwargs={"patient_id": pid, "note_id": private.pk}),
    ]
    problems = {}
    for url in urls:
        response = therapist.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<form" in html or url.endswith(("/notes/", "/private-notes/")), url
        missing = unlabelled(html)
        if missing:
            problems[url] = missing
    assert problems == {}
