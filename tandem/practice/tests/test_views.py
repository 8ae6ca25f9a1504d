"""Skills practice, clinician side: the list with completion, assigning, reviewing and
commenting, ending, the diary card's week as a page and as a one-page PDF."""

from __future__ import annotations

import re
import zlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.practice.actions import do_comment, patient_today
from tandem.practice.models import Assignment, Entry
from tandem.practice.queries import week_start
from tandem.practice.tests.factories import assign, diary, submit

pytestmark = pytest.mark.django_db


def url(name: str, personas, **kwargs) -> str:
    return reverse(f"practice:{name}", kwargs={"patient_id": personas.patient.pk, **kwargs})


def test_the_list_shows_each_assignment_with_its_completion_rate(personas):
    today = patient_today(personas.patient)
    daily = assign(personas, template="diary_card", start=today - timedelta(days=3))
    for back in (3, 1):  # 2 of the 3 ended days, none yet today
        submit(personas, daily, diary(today - timedelta(days=back)), key=f"card-key-{back}")
    body = personas.client_for("care_manager").get(url("list", personas)).content.decode()
    assert "Diary card" in body
    assert "<strong>67%</strong>" in body and "2 of 3 expected to date" in body
    assert "Assign practice" in body


def test_the_list_costs_the_same_number_of_queries_with_more_assignments(personas):
    client = personas.client_for("therapist")
    assign(personas)
    with CaptureQueriesContext(connection) as one:
        client.get(url("list", personas))
    for template in ("diary_card", "activity_schedule", "ipt"):
        submit(personas, assign(personas, template=template)) if template == "diary_card" else assign(
            personas, template=template
        )
    with CaptureQueriesContext(connection) as four:
        client.get(url("list", personas))
    assert len(four) == len(one)


def test_readers_without_the_right_to_assign_see_no_assign_button(personas):
    body = personas.client_for("prescriber").get(url("list", personas)).content.decode()
    assert "Assign practice" not in body
    assert personas.client_for("prescriber").get(url("assign", personas)).status_code == 404


def test_the_therapist_assigns_a_worksheet_of_their_own(personas):
    client = personas.client_for("therapist")
    today = patient_today(personas.patient)
    response = client.post(
        url("assign", personas),
        {
            "template": "worksheet",
            "title": "Values",
            "prompts": "What matters to you?\n\nOne step this week?",
            "frequency": "times_per_week",
            "times_per_week": "2",
            "start": today.isoformat(),
            "instructions": "Take ten minutes.",
        },
    )
    assignment = Assignment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("assignment", personas, assignment_id=assignment.pk)
    assert (assignment.title, assignment.prompts, assignment.times_per_week) == (
        "Values",
        ["What matters to you?", "One step this week?"],
        2,
    )
    assert assignment.assigned_by == personas.therapist


def test_a_refused_assignment_names_the_field_and_keeps_what_was_typed(personas):
    client = personas.client_for("care_manager")
    today = patient_today(personas.patient)
    response = client.post(
        url("assign", personas),
        {
            "template": "thought_record",
            "frequency": "once",
            "start": today.isoformat(),
            "instructions": "Bring it to the session",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "give a due date" in body and "Bring it to the session" in body
    response = client.post(
        url("assign", personas),
        {
            "template": "thought_record",
            "frequency": "times_per_week",
            "times_per_week": "8",
            "start": today.isoformat(),
        },
    )
    assert response.status_code == 400 and "enter a number from 1 to 7" in response.content.decode()
    assert not Assignment.objects.exists()


def test_the_therapist_reviews_an_entry_and_comments(personas):
    entry = submit(personas, assign(personas))
    client = personas.client_for("therapist")
    page = client.get(url("entry", personas, entry_id=entry.pk)).content.decode()
    assert "She is going to fire me" in page and "80 of 100" in page and "40 of 100" in page
    response = client.post(
        url("entry", personas, entry_id=entry.pk), {"comment": "Good work on the evidence."}
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.comment == "Good work on the evidence." and entry.commented_by == personas.therapist


def test_an_empty_comment_is_refused_by_its_field(personas):
    entry = submit(personas, assign(personas))
    response = personas.client_for("care_manager").post(
        url("entry", personas, entry_id=entry.pk), {"comment": " "}
    )
    assert response.status_code == 400 and "write a comment" in response.content.decode()


@pytest.mark.parametrize("persona", ["prescriber", "consultant", "colleague", "consented", "patient"])
def test_only_the_therapist_and_care_manager_comment(personas, persona):
    entry = submit(personas, assign(personas))
    response = personas.client_for(persona).post(url("entry", personas, entry_id=entry.pk), {"comment": "x"})
    assert response.status_code == 404
    entry.refresh_from_db()
    assert entry.comment == ""


def test_drafts_are_not_shown_to_the_team(personas):
    from tandem.practice.actions import do_save_draft

    assignment = assign(personas)
    draft = do_save_draft(
        assignment,
        raw={"situation": "private"},
        version=1,
        key="draft-key-01",
        acting_user=personas.patient_user,
    ).entry
    assert personas.client_for("therapist").get(url("entry", personas, entry_id=draft.pk)).status_code == 404
    body = (
        personas.client_for("therapist")
        .get(url("assignment", personas, assignment_id=assignment.pk))
        .content.decode()
    )
    assert "private" not in body and "Drafts in progress</dt><dd>1" in body


def test_an_entry_of_another_patient_is_404_under_this_patient(personas):
    from tandem.practice.actions import do_assign, do_submit_entry

    other = do_assign(
        personas.other_patient,
        template="diary_card",
        frequency="daily",
        start=patient_today(personas.other_patient),
        acting_user=personas.colleague,
        role="therapist",
    )
    entry = do_submit_entry(
        other,
        raw=diary(patient_today(personas.other_patient)),
        key="other-card-1",
        acting_user=personas.other_patient_user,
    ).entry
    assert entry is not None
    client = personas.client_for("therapist")
    assert client.get(url("entry", personas, entry_id=entry.pk)).status_code == 404
    assert client.get(url("assignment", personas, assignment_id=other.pk)).status_code == 404


def test_ending_an_assignment(personas):
    assignment = assign(personas)
    response = personas.client_for("therapist").post(
        url("end", personas, assignment_id=assignment.pk), {"reason": "Moving on to exposure"}
    )
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert (
        assignment.ended_on == patient_today(personas.patient)
        and assignment.end_reason == "Moving on to exposure"
    )
    assert (
        personas.client_for("consultant").post(url("end", personas, assignment_id=assignment.pk)).status_code
        == 404
    )


def test_the_diary_week_grid_shows_the_days_skills_and_medication(personas):
    today = patient_today(personas.patient)
    monday = week_start(today)
    card = assign(personas, template="diary_card", start=monday - timedelta(days=7))
    submit(
        personas, card, diary(monday, urge_suicide="4", skills="6", medication="partly"), key="week-key-01"
    )
    body = (
        personas.client_for("consultant")
        .get(url("diary_week", personas, assignment_id=card.pk))
        .content.decode()
    )
    assert "Skills used" in body and "Medication" in body and "Dose log" in body
    assert '<td class="high"><strong>4</strong></td>' in body
    assert "Partly" in body and "1 of 7 days filled in" in body


def test_the_week_pages_are_for_diary_cards_only(personas):
    record = assign(personas)
    client = personas.client_for("therapist")
    assert client.get(url("diary_week", personas, assignment_id=record.pk)).status_code == 404
    assert client.get(url("diary_week_pdf", personas, assignment_id=record.pk)).status_code == 404


def pdf_text(content: bytes) -> str:
    """The text drawn on the PDF's pages (its content streams, inflated)."""
    texts = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            texts.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            texts.append(stream.decode("latin-1"))
    return "\n".join(texts)


def test_the_week_pdf_is_one_valid_page_with_the_patients_week(personas):
    personas.patient.family_name = "Patiént–Łukasz"  # outside Latin-1: sanitised, not an error
    personas.patient.save(update_fields=["family_name"])
    today = patient_today(personas.patient)
    monday = week_start(today)
    card = assign(personas, template="diary_card", start=monday - timedelta(days=7))
    submit(personas, card, diary(monday, skills="6", notes="Walked — felt “better”"), key="pdf-key-001")
    response = personas.client_for("therapist").get(
        url("diary_week_pdf", personas, assignment_id=card.pk) + f"?week={monday.isoformat()}"
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    content = response.content
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", content)) == 1
    text = pdf_text(content)
    assert "Pat Patiént-Lukasz" in text.replace("\\", "")
    assert f"{monday.isoformat()} to {(monday + timedelta(days=6)).isoformat()}" in text
    assert "Skills used" in text and "RC-1" in text


def test_entries_are_on_the_timeline_by_title_only(personas):
    from tandem.lib.timeline import collect
    from tandem.patients.access import grant_for

    submit(personas, assign(personas))
    grant = grant_for(personas.consultant, personas.patient)
    assert grant is not None
    (event,) = [e for e in collect(personas.patient, grant, None, None, 50).events if e.kind == "practice"]
    assert event.title == "Thought record sent" and event.detail == ""
    assert "fire me" not in event.title + event.detail
    consented = grant_for(personas.consented, personas.patient)
    assert consented is not None
    assert not [
        e for e in collect(personas.patient, consented, None, None, 50).events if e.kind == "practice"
    ]


def test_a_comment_is_kept_when_the_same_text_is_sent_twice(personas):
    entry = submit(personas, assign(personas))
    assert do_comment(entry, text="Nice", acting_user=personas.therapist, role="therapist")
    assert not do_comment(entry, text="Nice", acting_user=personas.therapist, role="therapist")
    assert Entry.objects.get().comment == "Nice"
