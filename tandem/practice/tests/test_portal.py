"""The patient's practice in the portal: drafts saved as typed (newest version wins), a plain
post without a script, submit once per key, refusals by field keeping what was typed, the
safety rule on a diary card, the dose log's answer, and nobody else's assignment."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent, Outcome
from tandem.collab.models import Alert
from tandem.practice.actions import do_comment, do_end_assignment, do_save_draft, patient_today
from tandem.practice.models import Entry, EntryStatus
from tandem.practice.tests.factories import THOUGHT_RECORD, assign, diary, submit

pytestmark = pytest.mark.django_db


def fill_url(assignment) -> str:
    return reverse("portal_practice:fill", kwargs={"assignment_id": assignment.pk})


def draft_url(assignment) -> str:
    return reverse("portal_practice:draft", kwargs={"assignment_id": assignment.pk})


def test_the_patient_sees_their_assignments_and_opens_a_fresh_form(personas):
    assignment = assign(personas, instructions="Try it after work.")
    client = personas.client_for("patient")
    page = client.get(reverse("portal_practice:list")).content.decode()
    assert "Thought record" in page and "Try it after work." in page
    response = client.get(fill_url(assignment))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="emotions-0-rating"' in body and "practice/autosave.js" in body
    assert 'data-version="0"' in body and "is restored" not in body


def test_a_draft_is_saved_as_typed_and_an_older_version_never_overwrites_a_newer_one(personas):
    assignment = assign(personas)
    client = personas.client_for("patient")
    key = "k" * 16
    first = client.post(draft_url(assignment), {"key": key, "version": "2", "situation": "Second"})
    assert first.status_code == 200 and first.json()["state"] == "saved"
    late = client.post(draft_url(assignment), {"key": key, "version": "1", "situation": "First"})
    assert late.json() == {**late.json(), "state": "stale", "version": 2}
    entry = Entry.objects.get()
    assert (entry.status, entry.version, entry.data) == (EntryStatus.DRAFT, 2, {"situation": "Second"})
    client.post(draft_url(assignment), {"key": key, "version": "3", "situation": "Third", "belief": "150"})
    entry.refresh_from_db()
    assert entry.data == {"situation": "Third", "belief": "150"}  # kept as typed, even out of range


def test_the_newest_draft_is_restored_when_the_form_is_opened_again(personas):
    assignment = assign(personas)
    do_save_draft(
        assignment,
        raw={"situation": "Half done"},
        version=4,
        key="restore-key-1",
        acting_user=personas.patient_user,
    )
    body = personas.client_for("patient").get(fill_url(assignment)).content.decode()
    assert "Half done" in body and "is restored" in body
    assert 'data-key="restore-key-1"' in body and 'data-version="4"' in body
    assert 'name="version" value="5"' in body


def test_without_a_script_save_draft_and_send_are_plain_posts(personas):
    assignment = assign(personas)
    client = personas.client_for("patient")
    response = client.post(
        fill_url(assignment), {"key": "plain-key-01", "version": "1", "action": "draft", "situation": "S"}
    )
    assert response.status_code == 302 and response["Location"] == fill_url(assignment)
    assert "S" in client.get(fill_url(assignment)).content.decode()
    response = client.post(
        fill_url(assignment), {**THOUGHT_RECORD, "key": "plain-key-01", "version": "2", "action": "submit"}
    )
    entry = Entry.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal_practice:entry", kwargs={"entry_id": entry.pk}) + "?sent=1"
    assert entry.status == EntryStatus.SUBMITTED and entry.data["belief"] == 60


def test_sending_twice_with_one_key_stores_one_entry(personas):
    assignment = assign(personas)
    client = personas.client_for("patient")
    data = {**THOUGHT_RECORD, "key": "twice-key-01", "version": "1", "action": "submit"}
    first = client.post(fill_url(assignment), data)
    second = client.post(fill_url(assignment), {**data, "situation": "changed on the retry"})
    assert first["Location"] == second["Location"]
    entry = Entry.objects.get()
    assert entry.data["situation"] == THOUGHT_RECORD["situation"]
    assert AuditEvent.objects.filter(entity_type="PracticeEntry", action="create").count() == 1
    # A late autosave of the same form changes nothing either.
    late = client.post(draft_url(assignment), {"key": "twice-key-01", "version": "9", "situation": "x"})
    assert late.json()["state"] == "submitted"
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED and entry.data["situation"] == THOUGHT_RECORD["situation"]


def test_an_out_of_range_rating_is_refused_by_its_field_and_nothing_typed_is_lost(personas):
    assignment = assign(personas)
    client = personas.client_for("patient")
    data = {
        **THOUGHT_RECORD,
        "belief": "150",
        "emotions-0-rating": "-3",
        "key": "range-key-01",
        "action": "submit",
    }
    response = client.post(fill_url(assignment), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "150 is out of range: enter a whole number from 0 to 100" in body
    assert "-3 is out of range" in body
    assert "Please check 2 answers" in body
    assert 'value="150"' in body and THOUGHT_RECORD["evidence_against"] in body
    entry = Entry.objects.get()
    assert entry.status == EntryStatus.DRAFT and entry.data["belief"] == "150"  # kept as a draft too


def test_a_submit_costs_a_fixed_small_number_of_queries(personas):
    assignment = assign(personas)
    client = personas.client_for("patient")
    client.get(fill_url(assignment))
    data = {**THOUGHT_RECORD, "key": "fast-key-001", "version": "1", "action": "submit"}
    with CaptureQueriesContext(connection) as queries:
        response = client.post(fill_url(assignment), data)
    assert response.status_code == 302
    # Four for the session, the user and the middleware's checks; then the assignment with its
    # patient, the entry looked up by key, its insert in a savepoint, clearing other drafts, and
    # the audit row with its chain head: whatever the size of the database.
    assert len(queries) <= 15, [q["sql"][:80] for q in queries]


def test_another_patient_gets_404_for_my_assignment_my_draft_and_my_entry(personas):
    assignment = assign(personas)
    entry = submit(personas, assignment)
    other = personas.client_for("other_patient")
    for url, method in [
        (fill_url(assignment), "get"),
        (fill_url(assignment), "post"),
        (draft_url(assignment), "post"),
        (reverse("portal_practice:entry", kwargs={"entry_id": entry.pk}), "get"),
    ]:
        before = AuditEvent.objects.filter(outcome=Outcome.DENIED).count()
        response = getattr(other, method)(url, {"key": "other-key-01", "version": "5", "situation": "x"})
        assert response.status_code == 404, url
        assert AuditEvent.objects.filter(outcome=Outcome.DENIED).count() == before + 1
    assert Entry.objects.count() == 1
    for persona in ("therapist", "outsider"):
        assert personas.client_for(persona).get(fill_url(assignment)).status_code == 404


def test_the_patient_reads_the_therapists_comment(personas):
    assignment = assign(personas)
    entry = submit(personas, assignment)
    do_comment(
        entry,
        text="Well spotted: that was the hot thought.",
        acting_user=personas.therapist,
        role="therapist",
    )
    client = personas.client_for("patient")
    assert "Theo Therapist commented" in client.get(reverse("portal_practice:list")).content.decode()
    page = client.get(reverse("portal_practice:entry", kwargs={"entry_id": entry.pk})).content.decode()
    assert "Well spotted: that was the hot thought." in page and "She is going to fire me" in page


def test_an_ended_assignment_takes_no_more_entries(personas):
    assignment = assign(personas)
    do_end_assignment(assignment, acting_user=personas.therapist, role="therapist")
    client = personas.client_for("patient")
    assert "ended this practice" in client.get(fill_url(assignment)).content.decode()
    client.post(fill_url(assignment), {**THOUGHT_RECORD, "key": "ended-key-01", "action": "submit"})
    assert not Entry.objects.exists()
    assert "Thought record" not in client.get(reverse("portal_practice:list")).content.decode()


# --- the diary card ---------------------------------------------------------------------------


def send_card(personas, assignment, **values):
    client = personas.client_for("patient")
    day = patient_today(personas.patient)
    return client.post(
        fill_url(assignment),
        {**diary(day, **values), "key": f"card-{len(values)}-" + "x" * 8, "action": "submit"},
    )


def test_a_high_suicide_urge_alerts_the_team_and_shows_crisis_resources(personas):
    assignment = assign(personas, template="diary_card")
    response = send_card(personas, assignment, urge_suicide="4")
    entry = Entry.objects.get()
    assert entry.flagged
    alert = Alert.objects.get(kind="practice_diary")
    assert alert.severity == "urgent" and alert.rule_id == "practice.diary_card.urge"
    assert "suicide urge 4 of 5" in alert.reason and "safe" not in (alert.title + alert.reason).lower()
    assert set(alert.route_to) >= {"therapist", "care_manager"}
    page = personas.client_for("patient").get(response["Location"]).content.decode()
    assert reverse("portal:crisis") in page and "Crisis resources" in page
    assert "safe " not in page.lower().replace("safety", "")


def test_an_urge_acted_on_alerts_even_at_a_low_rating(personas):
    assignment = assign(personas, template="diary_card")
    send_card(personas, assignment, urge_self_harm="1", acted_self_harm="yes")
    assert Alert.objects.filter(kind="practice_diary").count() == 1


def test_urges_of_3_raise_no_alert_and_show_no_crisis_box(personas):
    assignment = assign(personas, template="diary_card")
    response = send_card(personas, assignment, urge_suicide="3", urge_self_harm="3", acted_self_harm="no")
    assert not Alert.objects.exists() and not Entry.objects.get().flagged
    page = personas.client_for("patient").get(response["Location"]).content.decode()
    assert "Help is here now" not in page


def test_a_diary_card_for_a_future_day_or_before_the_start_is_refused_by_the_day(personas):
    assignment = assign(personas, template="diary_card")
    client = personas.client_for("patient")
    today = patient_today(personas.patient)
    for day in (today + timedelta(days=1), assignment.start - timedelta(days=1)):
        response = client.post(
            fill_url(assignment), {**diary(day), "key": f"day-{day}-key", "action": "submit"}
        )
        assert response.status_code == 400
        assert 'class="field-error"' in response.content.decode()
    assert not Entry.objects.filter(status=EntryStatus.SUBMITTED).exists()


def test_the_dose_log_answers_medication_taken_for_the_cards_day(personas):
    from tandem.medications.actions import do_log_dose, do_start_regimen
    from tandem.medications.queries import patient_due_doses

    patient = personas.patient
    regimen = do_start_regimen(
        patient,
        drug_key="sertraline",
        drug_name="Sertraline",
        drug_classes=["ssri"],
        dose_amount=50,
        times=["08:00"],
        reason="Start",
        acting_user=personas.prescriber,
        role="prescriber",
        effective_at=timezone.now() - timedelta(days=5),
    )
    yesterday = patient_today(patient) - timedelta(days=1)
    (due,) = patient_due_doses(patient, yesterday, yesterday)
    do_log_dose(
        patient,
        regimen,
        status="taken",
        due_at=due.due_at,
        taken_at=due.due_at,
        idempotency_key="dose-key-0001",
        acting_user=personas.patient_user,
    )
    assignment = assign(personas, template="diary_card")
    client = personas.client_for("patient")
    body = client.get(fill_url(assignment) + f"?day={yesterday.isoformat()}").content.decode()
    assert "From your dose log" in body and "1 of 1 taken" in body
    assert 'value="as_prescribed" checked' in body
    body = client.get(
        fill_url(assignment) + f"?day={(yesterday - timedelta(days=1)).isoformat()}"
    ).content.decode()
    assert "0 of 1 taken" in body and 'value="as_prescribed" checked' not in body


def test_sending_one_draft_clears_other_drafts_of_the_same_worksheet(personas):
    assignment = assign(personas)
    for n, key in enumerate(("old-draft-key", "new-draft-key"), start=1):
        do_save_draft(
            assignment, raw={"situation": key}, version=n, key=key, acting_user=personas.patient_user
        )
    submit(personas, assignment, key="new-draft-key")
    assert list(Entry.objects.values_list("idempotency_key", "status")) == [("new-draft-key", "submitted")]


def test_the_portal_list_counts_drafts_and_sent_entries(personas):
    assignment = assign(personas, template="activity_schedule", frequency="weekly")
    do_save_draft(
        assignment, raw={"notes": "x"}, version=1, key="list-draft-1", acting_user=personas.patient_user
    )
    body = personas.client_for("patient").get(reverse("portal_practice:list")).content.decode()
    assert "Continue my draft" in body


def test_an_expired_form_key_is_refused_without_losing_the_answers(personas):
    assignment = assign(personas)
    response = personas.client_for("patient").post(
        fill_url(assignment), {**THOUGHT_RECORD, "key": "", "action": "submit"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "This form has expired" in body and THOUGHT_RECORD["balanced"] in body
    assert not Entry.objects.exists()


def test_a_draft_save_with_a_bad_key_answers_400_in_json(personas):
    assignment = assign(personas)
    response = personas.client_for("patient").post(draft_url(assignment), {"key": "short", "version": "1"})
    assert response.status_code == 400 and response.json()["field"] == "key"


def test_the_thought_record_is_filled_at_local_time(personas):
    """The entry's day is the patient's local day, not the server's."""
    assignment = assign(personas)
    late = datetime.combine(patient_today(personas.patient), time(23, 30), tzinfo=personas.patient.tz)
    from tandem.practice.actions import do_submit_entry

    result = do_submit_entry(
        assignment, raw=dict(THOUGHT_RECORD), key="local-day-key", acting_user=personas.patient_user, now=late
    )
    assert result.entry is not None and result.entry.entry_date == late.date()
