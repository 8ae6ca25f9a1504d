"""Progress notes: drafts by the session's clinician, signing (complete, then locked for good),
addenda (append-only), the high-risk alert, the wording of the risk assessment, the pages and
the timeline."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.accounts.models import Notification, Role
from tandem.audit.models import AuditEvent, Outcome
from tandem.collab.models import Alert
from tandem.lib.testing import make_user
from tandem.lib.timeline import collect
from tandem.notes.actions import (
    NoteError,
    NoteInput,
    do_add_addendum,
    do_save_progress_draft,
    do_sign_progress_note,
)
from tandem.notes.models import NoteLocked, NoteStatus, ProgressNote, ProgressNoteAddendum
from tandem.notes.tests.helpers import attended_session, complete, signed_note
from tandem.notes.vocabulary import INTERVENTION_GROUPS, INTERVENTIONS, RiskLevel, SelfHarm, SuicidalIdeation
from tandem.patients.access import grant_for
from tandem.patients.models import CareTeamMember, Category, Consent
from tandem.therapy.models import SessionStatus

pytestmark = pytest.mark.django_db


def edit_url(session) -> str:
    return reverse("notes:progress_edit", kwargs={"patient_id": session.patient_id, "session_id": session.pk})


def read_url(session) -> str:
    return reverse("notes:progress", kwargs={"patient_id": session.patient_id, "session_id": session.pk})


def form(**changes) -> dict:
    data = {
        "modality": "cbt",
        "interventions": ["cbt_thought_record"],
        "homework": "Thought records",
        "suicidal_ideation": "none_reported",
        "self_harm": "none_reported",
        "risk_level": "low",
        "safety_plan_reviewed": "yes",
        "risk_notes": "",
        "summary": "Better week.\nMore detail.",
        "intent": "sign",
    }
    data.update(changes)
    return data


# --- Vocabulary ------------------------------------------------------------------------------


def test_intervention_keys_are_unique_and_every_group_cites_a_source():
    keys = [k for g in INTERVENTION_GROUPS for k, _ in g.items]
    assert len(keys) == len(set(keys)) == len(INTERVENTIONS)
    assert all(g.source for g in INTERVENTION_GROUPS)


def test_no_risk_choice_words_none_reported_as_safe_or_no_risk():
    for choices in (SuicidalIdeation, SelfHarm, RiskLevel):
        for label in choices.labels:
            assert not re.search(r"\bsafe\b|no risk|not at risk", str(label), re.I), label
    assert SuicidalIdeation.NONE_REPORTED.label == "None reported"
    assert SelfHarm.NONE_REPORTED.label == "None reported"


# --- Drafts ----------------------------------------------------------------------------------


def test_the_sessions_clinician_saves_a_draft_and_it_is_audited(personas):
    session = attended_session(personas.patient, personas.therapist)
    note = do_save_progress_draft(session, NoteInput(summary="Half written"), acting_user=personas.therapist)
    assert note.status == NoteStatus.DRAFT and note.author == personas.therapist
    assert note.modality == "" and note.summary == "Half written"
    event = AuditEvent.objects.filter(entity_type="ProgressNote", action="create").get()
    assert event.entity_id == str(note.pk) and "Half written" not in str(event.extra)


def test_a_draft_is_saved_again_in_place(personas):
    session = attended_session(personas.patient, personas.therapist)
    do_save_progress_draft(session, NoteInput(summary="One"), acting_user=personas.therapist)
    do_save_progress_draft(session, NoteInput(summary="Two"), acting_user=personas.therapist)
    assert ProgressNote.objects.get(session=session).summary == "Two"


def test_only_the_sessions_clinician_writes_its_note(personas):
    session = attended_session(personas.patient, personas.therapist)
    with pytest.raises(NoteError) as exc:
        do_save_progress_draft(session, NoteInput(summary="x"), acting_user=personas.prescriber)
    assert exc.value.field == "session"
    assert not ProgressNote.objects.exists()


@pytest.mark.parametrize("status", [SessionStatus.SCHEDULED, SessionStatus.NO_SHOW, SessionStatus.CANCELLED])
def test_a_session_that_was_not_attended_has_no_note(personas, status):
    session = attended_session(personas.patient, personas.therapist, status=status)
    with pytest.raises(NoteError) as exc:
        do_save_progress_draft(session, NoteInput(summary="x"), acting_user=personas.therapist)
    assert exc.value.field == "session"


def test_an_unknown_intervention_or_choice_is_refused_by_name(personas):
    session = attended_session(personas.patient, personas.therapist)
    for field, data in [
        ("interventions", NoteInput(interventions=["hypnosis"])),
        ("risk_level", NoteInput(risk_level="none")),
        ("suicidal_ideation", NoteInput(suicidal_ideation="safe")),
        ("modality", NoteInput(modality="emdr")),
    ]:
        with pytest.raises(NoteError) as exc:
            do_save_progress_draft(session, data, acting_user=personas.therapist)
        assert exc.value.field == field


# --- Signing ---------------------------------------------------------------------------------


def test_signing_a_complete_note_locks_it(personas):
    session = attended_session(personas.patient, personas.therapist)
    note, signed = do_sign_progress_note(session, complete(), acting_user=personas.therapist)
    assert signed and note.status == NoteStatus.SIGNED
    assert note.signed_by == personas.therapist and note.signed_at is not None
    event = AuditEvent.objects.filter(entity_type="ProgressNote", extra__change="signed").get()
    assert "Mood lifting" not in str(event.extra)


@pytest.mark.parametrize(
    "missing",
    ["modality", "suicidal_ideation", "self_harm", "risk_level", "safety_plan_reviewed", "summary"],
)
def test_signing_needs_every_part_of_the_note(personas, missing):
    session = attended_session(personas.patient, personas.therapist)
    blank = None if missing == "safety_plan_reviewed" else ""
    with pytest.raises(NoteError) as exc:
        do_sign_progress_note(session, complete(**{missing: blank}), acting_user=personas.therapist)
    assert exc.value.field == missing
    assert not ProgressNote.objects.filter(status=NoteStatus.SIGNED).exists()


def test_signing_needs_an_intervention_ticked_or_described(personas):
    session = attended_session(personas.patient, personas.therapist)
    with pytest.raises(NoteError) as exc:
        do_sign_progress_note(session, complete(interventions=[]), acting_user=personas.therapist)
    assert exc.value.field == "interventions"
    _, signed = do_sign_progress_note(
        session,
        complete(interventions=[], interventions_other="Grounding exercise"),
        acting_user=personas.therapist,
    )
    assert signed


@pytest.mark.parametrize(
    "changes",
    [
        {"suicidal_ideation": "passive"},
        {"self_harm": "urges"},
        {"risk_level": "moderate"},
        {"risk_level": "high"},
    ],
)
def test_anything_reported_or_a_risk_above_low_needs_the_assessment_written(personas, changes):
    session = attended_session(personas.patient, personas.therapist)
    with pytest.raises(NoteError) as exc:
        do_sign_progress_note(session, complete(**changes), acting_user=personas.therapist)
    assert exc.value.field == "risk_notes"
    _, signed = do_sign_progress_note(
        session, complete(risk_notes="Discussed; plan agreed", **changes), acting_user=personas.therapist
    )
    assert signed


def test_nothing_reported_and_low_risk_needs_no_written_assessment(personas):
    session = attended_session(personas.patient, personas.therapist)
    _, signed = do_sign_progress_note(session, complete(risk_notes=""), acting_user=personas.therapist)
    assert signed


def test_a_signed_note_cannot_be_changed_through_the_actions(personas):
    note = signed_note(personas.patient, personas.therapist)
    with pytest.raises(NoteError) as exc:
        do_save_progress_draft(note.session, complete(summary="Rewritten"), acting_user=personas.therapist)
    assert exc.value.field == "note"
    with pytest.raises(NoteError):
        do_sign_progress_note(note.session, complete(summary="Rewritten"), acting_user=personas.therapist)
    note.refresh_from_db()
    assert note.summary == complete().summary


def test_signing_twice_with_the_same_content_changes_nothing(personas):
    note = signed_note(personas.patient, personas.therapist)
    again, signed = do_sign_progress_note(note.session, complete(), acting_user=personas.therapist)
    assert again.pk == note.pk and not signed
    assert again.signed_at == note.signed_at


def test_the_model_refuses_to_save_update_or_delete_a_signed_note(personas):
    note = signed_note(personas.patient, personas.therapist)
    note.summary = "Changed behind the action's back"
    with pytest.raises(NoteLocked):
        note.save()
    with pytest.raises(NoteLocked):
        ProgressNote.objects.filter(pk=note.pk).update(summary="Changed by a query")
    with pytest.raises(NoteLocked):
        note.delete()
    with pytest.raises(NoteLocked):
        ProgressNote.objects.filter(pk=note.pk).delete()
    stored = ProgressNote.objects.get(pk=note.pk)
    assert stored.summary == complete().summary and stored.status == NoteStatus.SIGNED


def test_a_stale_copy_of_the_draft_cannot_overwrite_the_signed_note(personas):
    session = attended_session(personas.patient, personas.therapist)
    draft = do_save_progress_draft(session, complete(), acting_user=personas.therapist)
    stale = ProgressNote.objects.get(pk=draft.pk)
    do_sign_progress_note(session, complete(), acting_user=personas.therapist)
    stale.summary = "Stale"
    with pytest.raises(NoteLocked):
        stale.save()


def test_a_draft_can_still_be_changed_by_a_query(personas):
    session = attended_session(personas.patient, personas.therapist)
    draft = do_save_progress_draft(session, NoteInput(summary="a"), acting_user=personas.therapist)
    assert ProgressNote.objects.filter(pk=draft.pk).update(summary="b") == 1


# --- The high-risk alert ---------------------------------------------------------------------


def test_signing_with_high_risk_alerts_the_whole_care_team_urgently(personas):
    note = signed_note(
        personas.patient,
        personas.therapist,
        suicidal_ideation="active_plan_intent",
        risk_level="high",
        risk_notes="Private detail of the plan",
    )
    alert = Alert.objects.get(patient=personas.patient)
    assert alert.severity == "urgent" and alert.kind == "safety"
    assert set(alert.route_to) == {
        Role.THERAPIST,
        Role.PRESCRIBER,
        Role.CARE_MANAGER,
        Role.PSYCHIATRIC_CONSULTANT,
    }
    assert "high" in alert.reason and "with a plan or intent" in alert.reason
    assert "Private detail" not in alert.reason and "Mood lifting" not in alert.reason
    assert alert.link == read_url(note.session) and alert.rule_id == "progress-note-risk-high"
    for user in (personas.therapist, personas.prescriber, personas.care_manager, personas.consultant):
        assert Notification.objects.filter(user=user, link__endswith=read_url(note.session)).exists()
    assert not Notification.objects.filter(user=personas.colleague).exists()


@pytest.mark.parametrize("level", ["low", "moderate"])
def test_a_risk_below_high_raises_no_alert(personas, level):
    signed_note(personas.patient, personas.therapist, risk_level=level, risk_notes="Discussed")
    assert not Alert.objects.exists()


def test_saving_a_high_risk_draft_raises_no_alert_until_signed(personas):
    session = attended_session(personas.patient, personas.therapist)
    do_save_progress_draft(session, complete(risk_level="high"), acting_user=personas.therapist)
    assert not Alert.objects.exists()


# --- Addenda ---------------------------------------------------------------------------------


def test_the_author_adds_addenda_that_can_never_change(personas):
    note = signed_note(personas.patient, personas.therapist)
    addendum, created = do_add_addendum(note, "Late entry: patient called", acting_user=personas.therapist)
    assert created and addendum.author == personas.therapist
    addendum.text = "Changed"
    with pytest.raises(NoteLocked):
        addendum.save()
    with pytest.raises(NoteLocked):
        addendum.delete()
    with pytest.raises(NoteLocked):
        ProgressNoteAddendum.objects.filter(pk=addendum.pk).update(text="x")
    with pytest.raises(NoteLocked):
        ProgressNoteAddendum.objects.all().delete()
    assert ProgressNoteAddendum.objects.get().text == "Late entry: patient called"


def test_a_double_submitted_addendum_is_added_once(personas):
    note = signed_note(personas.patient, personas.therapist)
    first, _ = do_add_addendum(note, "Once", acting_user=personas.therapist, idempotency_key="k" * 16)
    second, created = do_add_addendum(note, "Once", acting_user=personas.therapist, idempotency_key="k" * 16)
    assert first.pk == second.pk and not created
    assert ProgressNoteAddendum.objects.count() == 1


def test_addenda_are_for_signed_notes_by_their_author(personas):
    session = attended_session(personas.patient, personas.therapist)
    draft = do_save_progress_draft(session, complete(), acting_user=personas.therapist)
    with pytest.raises(NoteError):
        do_add_addendum(draft, "x", acting_user=personas.therapist)
    note = signed_note(personas.patient, personas.therapist, days_ago=5)
    with pytest.raises(NoteError):
        do_add_addendum(note, "x", acting_user=personas.prescriber)
    with pytest.raises(NoteError) as exc:
        do_add_addendum(note, "   ", acting_user=personas.therapist)
    assert exc.value.field == "text"
    assert not ProgressNoteAddendum.objects.exists()


# --- Pages -----------------------------------------------------------------------------------


def test_the_clinician_writes_and_signs_through_the_page(personas):
    session = attended_session(personas.patient, personas.therapist)
    client = personas.client_for("therapist")
    page = client.get(edit_url(session))
    assert page.status_code == 200 and "Sign and lock" in page.content.decode()
    response = client.post(edit_url(session), form(intent="draft", summary="Draft words"))
    assert response.status_code == 302 and response["Location"] == edit_url(session)
    assert ProgressNote.objects.get().status == NoteStatus.DRAFT
    response = client.post(edit_url(session), form())
    assert response.status_code == 302 and response["Location"] == read_url(session)
    note = ProgressNote.objects.get()
    assert note.status == NoteStatus.SIGNED and note.interventions == ["cbt_thought_record"]
    assert note.safety_plan_reviewed is True


def test_an_incomplete_note_is_refused_by_field_and_keeps_what_was_typed(personas):
    session = attended_session(personas.patient, personas.therapist)
    response = personas.client_for("therapist").post(
        edit_url(session), form(risk_level="moderate", summary="Words I typed", homework="Walk daily")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<strong>Assessment and plan:</strong> describe the risk" in html
    assert "Words I typed" in html and "Walk daily" in html
    assert 'value="moderate" checked' in html and 'value="cbt_thought_record" checked' in html


def test_posting_to_a_signed_note_changes_nothing(personas):
    note = signed_note(personas.patient, personas.therapist)
    client = personas.client_for("therapist")
    assert client.get(edit_url(note.session))["Location"] == read_url(note.session)
    response = client.post(edit_url(note.session), form(intent="draft", summary="Overwrite"))
    assert response.status_code == 400 and "signed and locked" in response.content.decode()
    note.refresh_from_db()
    assert note.summary == complete().summary


def test_a_draft_is_seen_by_its_author_only(personas):
    session = attended_session(personas.patient, personas.therapist)
    do_save_progress_draft(session, NoteInput(summary="Unfinished thoughts"), acting_user=personas.therapist)
    assert personas.client_for("therapist").get(read_url(session)).status_code == 200
    for persona in ("prescriber", "care_manager", "consultant"):
        response = personas.client_for(persona).get(read_url(session))
        assert response.status_code == 404
        assert "Unfinished thoughts" not in response.content.decode()
    listing = personas.client_for("prescriber").get(
        reverse("notes:list", kwargs={"patient_id": personas.patient.pk})
    )
    assert "Being written" in listing.content.decode() and "Unfinished" not in listing.content.decode()


def test_another_therapist_on_the_team_cannot_write_this_sessions_note(personas):
    second = make_user("t2@riverside.test", "Tess Second", personas.home, Role.THERAPIST)
    CareTeamMember.objects.create(
        patient=personas.patient, user=second, role=Role.THERAPIST, organisation=personas.home
    )
    session = attended_session(personas.patient, personas.therapist)
    response = personas.client_for(second).post(edit_url(session), form())
    assert response.status_code == 404
    assert not ProgressNote.objects.exists()
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, entity_type="ProgressNote").exists()


def test_a_session_not_attended_shows_why_there_is_no_form(personas):
    session = attended_session(personas.patient, personas.therapist, status=SessionStatus.SCHEDULED)
    html = personas.client_for("therapist").get(edit_url(session)).content.decode()
    assert "Mark it attended" in html and "Sign and lock" not in html


def test_the_read_page_never_words_none_reported_as_safe(personas):
    note = signed_note(personas.patient, personas.therapist)
    html = personas.client_for("prescriber").get(read_url(note.session)).content.decode()
    assert "None reported" in html and "does not rule out risk" in html
    assert not re.search(r"\bsafe\b|no risk", html, re.I)
    edit = attended_session(personas.patient, personas.therapist, days_ago=9)
    html = personas.client_for("therapist").get(edit_url(edit)).content.decode()
    assert not re.search(r"\bsafe\b|no risk", html, re.I)


def test_the_author_adds_an_addendum_through_the_page(personas):
    note = signed_note(personas.patient, personas.therapist)
    url = reverse("notes:addendum", kwargs={"patient_id": personas.patient.pk, "session_id": note.session_id})
    client = personas.client_for("therapist")
    assert client.post(url, {"text": "  ", "key": "a" * 16}).status_code == 400
    response = client.post(url, {"text": "Correction: two thought records", "key": "a" * 16})
    assert response.status_code == 302
    client.post(url, {"text": "Correction: two thought records", "key": "a" * 16})
    assert ProgressNoteAddendum.objects.count() == 1
    html = personas.client_for("care_manager").get(read_url(note.session)).content.decode()
    assert "Correction: two thought records" in html and "Add an addendum" not in html


def test_a_clinician_consented_for_therapy_summaries_reads_signed_notes_only(personas):
    Consent.objects.filter(pk=personas.consent.pk).update(categories=[Category.THERAPY_SUMMARIES])
    note = signed_note(personas.patient, personas.therapist)
    client = personas.client_for("consented")
    assert client.get(read_url(note.session)).status_code == 200
    assert client.get(reverse("notes:list", kwargs={"patient_id": personas.patient.pk})).status_code == 200
    url = reverse("notes:addendum", kwargs={"patient_id": personas.patient.pk, "session_id": note.session_id})
    assert client.post(url, {"text": "x"}).status_code == 404


def test_the_list_costs_a_fixed_number_of_queries(personas):
    client = personas.client_for("therapist")
    url = reverse("notes:list", kwargs={"patient_id": personas.patient.pk})
    signed_note(personas.patient, personas.therapist, days_ago=3)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for days in range(4, 10):
        signed_note(personas.patient, personas.therapist, days_ago=days)
    attended_session(personas.patient, personas.therapist, days_ago=20)
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert len(many) == len(few)
    assert html.count("Signed</a>") == 7 and "Write the note" in html


# --- Timeline --------------------------------------------------------------------------------


def test_signed_notes_and_addenda_are_on_the_timeline_drafts_never(personas):
    note = signed_note(personas.patient, personas.therapist, days_ago=3)
    do_add_addendum(note, "Called the patient\nsecond line", acting_user=personas.therapist)
    draft_session = attended_session(personas.patient, personas.therapist, days_ago=1)
    do_save_progress_draft(draft_session, complete(summary="Draft summary"), acting_user=personas.therapist)
    for user in (personas.therapist, personas.prescriber):
        grant = grant_for(user, personas.patient)
        assert grant is not None
        events = collect(personas.patient, grant, ["progress_note"], None, 50).events
        titles = [e.title for e in events]
        assert len(events) == 2, titles
        signed = next(e for e in events if e.title.startswith("Progress note"))
        assert "Cognitive behavioural therapy (CBT) on" in signed.title
        assert signed.detail == "Mood lifting since the last session."
        addendum = next(e for e in events if e.title.startswith("Addendum"))
        assert addendum.detail == "Called the patient"
        assert all("Draft summary" not in (e.title + e.detail) for e in events)


def test_a_clinician_without_therapy_summaries_sees_no_notes_on_the_timeline(personas):
    signed_note(personas.patient, personas.therapist)
    grant = grant_for(personas.consented, personas.patient)
    assert grant is not None
    events = collect(personas.patient, grant, None, None, 50).events
    assert not [e for e in events if e.kind == "progress_note"]


def test_the_timeline_page_shows_a_signed_note(personas):
    signed_note(personas.patient, personas.therapist, days_ago=1)
    url = reverse("patients:timeline", kwargs={"patient_id": personas.patient.pk})
    html = personas.client_for("care_manager").get(url).content.decode()
    assert "Mood lifting since the last session." in html
