"""Psychotherapy notes can never be attached to or quoted by a message or a hand-off: nothing in
this app imports the notes app, no model here relates to a notes model, there is no attachment
field, and no message or hand-off page or action touches a notes table while it runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.handoffs.models import Handoff, Message, MessageRead, Thread
from tandem.handoffs.tests.helpers import observation, shared_thread

APP = Path(__file__).resolve().parents[1]
NOTES_TABLES = [m._meta.db_table for m in apps.get_app_config("notes").get_models()]


def test_the_notes_tables_were_found():
    assert "notes_progressnote" in NOTES_TABLES and len(NOTES_TABLES) >= 3


def test_no_module_of_this_app_imports_the_notes_app():
    offenders = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            if any(n == "tandem.notes" or n.startswith("tandem.notes.") for n in names):
                offenders.append(str(path.relative_to(APP)))
    assert offenders == []


def test_no_model_here_relates_to_a_notes_model_or_holds_a_file():
    notes = set(apps.get_app_config("notes").get_models())
    for model in (Handoff, Thread, Message, MessageRead):
        for field in model._meta.get_fields():
            assert getattr(field, "related_model", None) not in notes, (model, field)
            assert not isinstance(field, models.FileField), (model, field)


@pytest.mark.django_db
def test_no_message_or_handoff_code_path_touches_a_notes_table(personas):
    pid = personas.patient.pk
    with CaptureQueriesContext(connection) as queries:
        handoff = observation(personas)
        thread = shared_thread(personas)
        therapist = personas.client_for("therapist")
        prescriber = personas.client_for("prescriber")
        patient = personas.client_for("patient")
        therapist.get(reverse("handoffs:list", kwargs={"patient_id": pid}))
        for kind in (
            "consult_request",
            "medication_change",
            "session_observation",
            "plan_proposal",
            "case_review",
        ):
            therapist.get(reverse("handoffs:new", kwargs={"patient_id": pid}) + f"?kind={kind}")
        prescriber.get(reverse("handoffs:detail", kwargs={"patient_id": pid, "handoff_id": handoff.pk}))
        prescriber.post(
            reverse("handoffs:complete", kwargs={"patient_id": pid, "handoff_id": handoff.pk}),
            {"note": "Done"},
        )
        prescriber.get(reverse("handoff_tasks:mine"))
        therapist.get(reverse("handoffs:threads", kwargs={"patient_id": pid}))
        therapist.post(
            reverse("handoffs:thread_new", kwargs={"patient_id": pid}),
            {
                "audience": "team",
                "subject": "S",
                "body": "B",
                "key": "no-notes-01",
                "note_id": "1",
                "attachment": "1",
            },
        )
        therapist.post(
            reverse("handoffs:reply", kwargs={"patient_id": pid, "thread_id": thread.pk}),
            {"body": "Reply", "key": "no-notes-02", "note_id": "1"},
        )
        prescriber.get(reverse("handoffs:thread", kwargs={"patient_id": pid, "thread_id": thread.pk}))
        patient.get(reverse("portal_handoffs:messages"))
        patient.get(reverse("portal_handoffs:message_new"))
        patient.post(
            reverse("portal_handoffs:message_new"), {"subject": "S", "body": "suicide", "key": "no-notes-03"}
        )
        patient.post(
            reverse("portal_handoffs:reply", kwargs={"thread_id": thread.pk}),
            {"body": "R", "key": "no-notes-04"},
        )
        patient.get(reverse("portal_handoffs:thread", kwargs={"thread_id": thread.pk}))
    assert len(queries) > 50  # the paths above really ran
    touched = [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in NOTES_TABLES)]
    assert touched == []
    assert set(Message.objects.values_list("body", flat=True)) == {
        "How are you sleeping?",
        "B",
        "Reply",
        "suicide",
        "R",
    }
