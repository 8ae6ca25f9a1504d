"""Hand-offs: each kind's required fields, who may receive one, the due-by, the task's life
(open → acknowledged → done with a note), idempotency, notifications and audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from tandem.accounts.models import Notification
from tandem.audit.models import AuditEvent
from tandem.handoffs.actions import do_acknowledge_handoff, do_complete_handoff, do_send_handoff
from tandem.handoffs.kinds import HandoffError, parse_due
from tandem.handoffs.models import Handoff, HandoffStatus
from tandem.handoffs.tests.helpers import observation
from tandem.patients.models import CareTeamMember
from tandem.plans.actions import do_create_plan
from tandem.therapy.models import Session

pytestmark = pytest.mark.django_db


def send(personas, **overrides):
    args = {
        "kind": "consult_request",
        "sender": personas.therapist,
        "recipient": personas.consultant,
        "due_by": timezone.now() + timedelta(days=3),
        "details": {"question": "Would augmentation help?", "urgency": "soon"},
        **overrides,
    }
    return do_send_handoff(personas.patient, **args)


def error_of(call) -> HandoffError:
    with pytest.raises(HandoffError) as info:
        call()
    return info.value


def test_a_consult_request_becomes_the_recipients_open_task(personas):
    handoff, created = send(personas)
    assert created
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.OPEN
    assert handoff.recipient == personas.consultant
    assert handoff.recipient_role == "psychiatric_consultant"
    assert handoff.sender_role == "therapist"
    assert handoff.details == {"question": "Would augmentation help?", "urgency": "soon"}
    assert handoff.title == "Would augmentation help?"
    note = Notification.objects.get(user=personas.consultant)
    assert "Consult request from Theo Therapist about Pat Patient" in note.text
    assert f"/handoffs/{handoff.pk}/" in note.link
    assert AuditEvent.objects.filter(
        entity_type="Handoff", entity_id=str(handoff.pk), action="create"
    ).exists()


def test_an_urgent_consult_is_marked_urgent(personas):
    handoff, _ = send(personas, details={"question": "Q", "urgency": "urgent"})
    assert handoff.urgent
    assert Notification.objects.get(user=personas.consultant).text.startswith("Urgent ")


@pytest.mark.parametrize(
    ("kind", "details", "missing"),
    [
        ("consult_request", {"urgency": "soon"}, "question"),
        ("consult_request", {"question": "Q"}, "urgency"),
        ("medication_change", {"what_changed": "Sertraline 50 → 100 mg"}, "watch_for"),
        ("medication_change", {"watch_for": "Activation"}, "what_changed"),
        ("session_observation", {"observation": "Tremor"}, "observation_type"),
        ("session_observation", {"observation_type": "side_effect", "observation": "   "}, "observation"),
        ("plan_proposal", {}, "summary"),
        ("case_review", {"recommendation": "Add BA"}, "area"),
        ("case_review", {"area": "therapy"}, "recommendation"),
    ],
)
def test_each_kind_refuses_a_missing_required_field_by_name(personas, kind, details, missing):
    recipient = personas.prescriber
    err = error_of(lambda: send(personas, kind=kind, recipient=recipient, details=details))
    assert err.field == missing
    assert not Handoff.objects.exists()


def test_a_choice_outside_the_list_is_refused(personas):
    err = error_of(lambda: send(personas, details={"question": "Q", "urgency": "yesterday"}))
    assert err.field == "urgency"
    assert "Routine" in str(err)


def test_an_unknown_kind_is_refused(personas):
    assert error_of(lambda: send(personas, kind="gossip")).field == "kind"


def test_a_text_over_the_limit_is_refused_with_its_length(personas):
    err = error_of(lambda: send(personas, details={"question": "x" * 4001, "urgency": "soon"}))
    assert err.field == "question" and "4001" in str(err)
    handoff, _ = send(personas, details={"question": "x" * 4000, "urgency": "soon"})
    assert len(handoff.details["question"]) == 4000


def test_a_handoff_to_someone_outside_the_care_team_is_refused_with_the_reason(personas):
    err = error_of(lambda: send(personas, recipient=personas.colleague))
    assert err.field == "recipient"
    assert "Col League is not on Pat Patient's active care team" in str(err)
    for outsider in (personas.outsider, personas.consented, personas.org_admin, personas.patient_user):
        assert error_of(lambda u=outsider: send(personas, recipient=u)).field == "recipient"
    assert not Handoff.objects.exists()
    assert not Notification.objects.exists()


def test_a_former_team_member_cannot_receive_a_handoff(personas):
    CareTeamMember.objects.filter(patient=personas.patient, user=personas.consultant).update(
        end=timezone.localdate() - timedelta(days=1)
    )
    assert error_of(lambda: send(personas)).field == "recipient"


def test_a_member_whose_last_day_is_today_still_receives_it(personas):
    CareTeamMember.objects.filter(patient=personas.patient, user=personas.consultant).update(
        end=timezone.localdate()
    )
    handoff, created = send(personas)
    assert created and handoff.recipient == personas.consultant


def test_an_unknown_or_missing_recipient_names_the_field(personas):
    for bad in ("", None, "abc", "999999", "99999999999999999999999"):
        assert error_of(lambda b=bad: send(personas, recipient=b)).field == "recipient"


def test_nobody_sends_a_handoff_to_themselves(personas):
    err = error_of(lambda: send(personas, recipient=personas.therapist))
    assert err.field == "recipient" and "yourself" in str(err)


def test_a_sender_off_the_team_is_refused(personas):
    err = error_of(lambda: send(personas, sender=personas.colleague, recipient=personas.prescriber))
    assert err.field == "sender"


def test_a_session_observation_goes_to_a_prescriber_or_consultant_only(personas):
    details = {"observation_type": "side_effect", "observation": "Tremor"}
    err = error_of(
        lambda: send(personas, kind="session_observation", recipient=personas.care_manager, details=details)
    )
    assert err.field == "recipient" and "prescriber" in str(err)
    handoff, _ = send(personas, kind="session_observation", recipient=personas.consultant, details=details)
    assert handoff.recipient_role == "psychiatric_consultant"


def test_a_session_observation_links_a_session_of_this_patient_only(personas):
    mine = Session.objects.create(
        patient=personas.patient, clinician=personas.therapist, starts_at=timezone.now() - timedelta(days=1)
    )
    theirs = Session.objects.create(
        patient=personas.other_patient,
        clinician=personas.colleague,
        starts_at=timezone.now() - timedelta(days=1),
    )
    err = error_of(lambda: observation(personas, session=theirs.pk))
    assert err.field == "session"
    assert observation(personas, session=str(mine.pk)).session == mine


def test_a_plan_proposal_needs_a_current_plan_of_this_patient(personas):
    details = {"summary": "Add behavioural activation"}
    assert error_of(lambda: send(personas, kind="plan_proposal", details=details)).field == "plan"
    plan = do_create_plan(personas.patient, acting_user=personas.prescriber, content={"goals": []})
    handoff, _ = send(personas, kind="plan_proposal", details=details, plan=plan.pk)
    assert handoff.plan == plan
    other = do_create_plan(personas.other_patient, acting_user=personas.colleague, content={"goals": []})
    err = error_of(
        lambda: send(personas, kind="plan_proposal", details=details, plan=other.pk, idempotency_key="")
    )
    assert err.field == "plan"


def test_the_case_review_creates_recommendations_through_the_same_action(personas):
    handoff, created = do_send_handoff(
        personas.patient,
        kind="case_review",
        sender=personas.consultant,
        recipient=personas.prescriber,
        due_by=timezone.now() + timedelta(days=7),
        details={"area": "medication", "recommendation": "Increase sertraline to 100 mg"},
        source="case review 2025-W10",
        idempotency_key="review-1-patient-1",
    )
    assert created and handoff.source == "case review 2025-W10"
    again, created_again = do_send_handoff(
        personas.patient,
        kind="case_review",
        sender=personas.consultant,
        recipient=personas.prescriber,
        due_by=timezone.now() + timedelta(days=7),
        details={"area": "medication", "recommendation": "Increase sertraline to 100 mg"},
        idempotency_key="review-1-patient-1",
    )
    assert again == handoff and not created_again
    assert Handoff.objects.count() == 1


def test_the_due_by_must_be_in_the_future_and_within_a_year(personas):
    with time_machine.travel(timezone.now().replace(microsecond=0), tick=False):
        now = timezone.now()
        assert error_of(lambda: send(personas, due_by=now)).field == "due_by"
        assert error_of(lambda: send(personas, due_by=None)).field == "due_by"
        assert error_of(lambda: send(personas, due_by=now + timedelta(days=365, seconds=1))).field == "due_by"
        assert send(personas, due_by=now + timedelta(seconds=1))[1]
        assert send(personas, due_by=now + timedelta(days=365))[1]


def test_the_due_by_is_read_in_the_patients_time_zone(personas):
    due = parse_due("2025-03-14T17:00", personas.patient.tz)  # Chicago, CDT (UTC-5) from 9 March
    assert due is not None and due.isoformat() == "2025-03-14T22:00:00+00:00"
    for bad in ("tomorrow", "2025-13-01T10:00", "2025-03-14T17:00+02:00"):
        with pytest.raises(HandoffError) as info:
            parse_due(bad, personas.patient.tz)
        assert info.value.field == "due_by"
    assert parse_due("", personas.patient.tz) is None


def test_sending_twice_with_one_key_creates_one_handoff_and_one_notification(personas):
    first, created = send(personas, idempotency_key="double-tap-0001")
    second, again = send(personas, idempotency_key="double-tap-0001")
    assert created and not again and first == second
    assert Handoff.objects.count() == 1
    assert Notification.objects.filter(user=personas.consultant).count() == 1


def test_the_recipient_acknowledges_then_completes_with_a_note(personas):
    handoff = observation(personas)
    handoff, changed = do_acknowledge_handoff(handoff, acting_user=personas.prescriber)
    assert changed and handoff.status == HandoffStatus.ACKNOWLEDGED and handoff.acknowledged_at
    handoff, changed = do_complete_handoff(
        handoff, note="Reduced to 50 mg; review in 2 weeks", acting_user=personas.prescriber
    )
    handoff.refresh_from_db()
    assert changed and handoff.status == HandoffStatus.DONE
    assert handoff.done_note == "Reduced to 50 mg; review in 2 weeks"
    told = Notification.objects.get(user=personas.therapist)
    assert (
        "Rita Prescriber completed your session observation for the prescriber about Pat Patient" in told.text
    )
    changes = list(
        AuditEvent.objects.filter(entity_type="Handoff", action="update")
        .order_by("seq")
        .values_list("extra__change", flat=True)
    )
    assert changes == ["acknowledged", "done"]


def test_acknowledging_twice_or_after_done_is_harmless(personas):
    handoff = observation(personas)
    do_acknowledge_handoff(handoff, acting_user=personas.prescriber)
    first = Handoff.objects.get().acknowledged_at
    _, changed = do_acknowledge_handoff(handoff, acting_user=personas.prescriber)
    assert not changed and Handoff.objects.get().acknowledged_at == first
    do_complete_handoff(handoff, note="Done", acting_user=personas.prescriber)
    _, changed = do_acknowledge_handoff(handoff, acting_user=personas.prescriber)
    assert not changed and Handoff.objects.get().status == HandoffStatus.DONE


def test_completing_straight_from_open_records_the_acknowledgement_too(personas):
    handoff, _ = do_complete_handoff(observation(personas), note="Seen", acting_user=personas.prescriber)
    assert handoff.acknowledged_at == handoff.done_at


def test_completing_needs_a_note_and_twice_changes_nothing(personas):
    handoff = observation(personas)
    assert (
        error_of(lambda: do_complete_handoff(handoff, note="  ", acting_user=personas.prescriber)).field
        == "note"
    )
    assert (
        error_of(lambda: do_complete_handoff(handoff, note="x" * 4001, acting_user=personas.prescriber)).field
        == "note"
    )
    assert Handoff.objects.get().status == HandoffStatus.OPEN
    do_complete_handoff(handoff, note="First", acting_user=personas.prescriber)
    _, changed = do_complete_handoff(handoff, note="Second", acting_user=personas.prescriber)
    assert not changed and Handoff.objects.get().done_note == "First"
    assert Notification.objects.filter(user=personas.therapist).count() == 1


def test_only_the_recipient_moves_the_task(personas):
    handoff = observation(personas)
    assert (
        error_of(lambda: do_acknowledge_handoff(handoff, acting_user=personas.therapist)).field == "recipient"
    )
    assert (
        error_of(lambda: do_complete_handoff(handoff, note="x", acting_user=personas.care_manager)).field
        == "recipient"
    )
    assert Handoff.objects.get().status == HandoffStatus.OPEN


def test_a_handoff_is_overdue_after_its_due_by_until_done(personas):
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        handoff = observation(personas)  # due in two days
        assert not handoff.is_overdue()
        traveller.move_to(start + timedelta(days=2))
        assert not handoff.is_overdue()  # due exactly now: not yet overdue
        traveller.move_to(start + timedelta(days=2, seconds=1))
        assert handoff.is_overdue()
        handoff, _ = do_complete_handoff(handoff, note="Late but done", acting_user=personas.prescriber)
        assert not handoff.is_overdue()
