from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.audit.models import AuditEvent, Outcome
from tandem.patients.actions import do_break_glass, do_end_care_team_member, do_revoke_consent
from tandem.patients.models import CareTeamMember, Category, Consent
from tandem.patients.timeline_views import PAGE_SIZE, parse_cursor
from tandem.plans.actions import (
    do_create_plan,
    do_patient_agree,
    do_patient_question,
    do_propose,
    do_revise_plan,
    do_save_safety_document,
    do_set_plan_status,
)

CONTENT = {
    "problems": [{"code": "F33.1", "text": "Major depressive disorder, recurrent, moderate"}],
    "goals": [
        {"kind": "patient", "text": "Get back to running"},
        {"kind": "clinical", "text": "Remission", "measure": "phq9", "comparator": "<", "target": 5},
    ],
    "therapy": [{"modality": "cbt", "frequency": "weekly", "planned_sessions": 12}],
    "medication": {"approach": "Start an SSRI (sertraline)"},
    "monitoring": [{"instrument": "phq9", "every_days": 14}],
}


def url(personas, **query) -> str:
    base = reverse("patients:timeline", kwargs={"patient_id": personas.patient.pk})
    if not query:
        return base
    from django.utils.http import urlencode

    return base + "?" + urlencode(query, doseq=True)


def make_plan(personas, revisions: int = 0):
    plan = do_create_plan(
        personas.patient,
        acting_user=personas.therapist,
        role=Role.THERAPIST,
        content=CONTENT,
        title="Depression plan",
    )
    for i in range(revisions):
        do_revise_plan(
            plan,
            content={**plan.current.content, "communication": [{"text": f"Agreement number {i}"}]},
            reason=f"Change {i}",
            acting_user=personas.prescriber,
            base_revision=plan.revision_count,
            role=Role.PRESCRIBER,
        )
        plan.refresh_from_db()
    return plan


def titles(response) -> list[str]:
    return [row["event"].title for row in response.context["events"]]


@pytest.mark.django_db
def test_a_team_member_sees_the_record_and_plan_events_newest_first(personas):
    plan = make_plan(personas, revisions=1)
    do_set_plan_status(plan, "active", acting_user=personas.therapist)
    do_propose(
        plan,
        section="goals",
        content=[{"kind": "patient", "text": "Sleep better"}],
        reason="The patient said so",
        acting_user=personas.care_manager,
        base_revision=plan.revision_count,
    )
    do_patient_agree(plan, patient=personas.patient, revision_number=2, acting_user=personas.patient_user)
    do_patient_question(
        plan, patient=personas.patient, text="How long will I take it?", acting_user=personas.patient_user
    )
    do_save_safety_document(
        personas.patient,
        "safety",
        content={"warning_signs": ["Not sleeping"]},
        acting_user=personas.therapist,
        base_revision=0,
    )
    do_revoke_consent(personas.consent, reason="Moved away", acting_user=personas.org_admin)

    response = personas.client_for("therapist").get(url(personas))

    assert response.status_code == 200
    shown = titles(response)
    assert shown[0].startswith("Consent revoked: Connie Sented")
    assert "Safety plan written" in shown
    assert "The patient asked a question about the plan" in shown
    assert "The patient agreed to Depression plan (revision 2)" in shown
    assert "Change proposed to the goals of Depression plan" in shown
    assert "Depression plan became the active plan" in shown
    assert "Depression plan changed (revision 2)" in shown
    assert "Depression plan started as a draft" in shown
    assert any(t.startswith("Theo Therapist joined the care team") for t in shown)
    times = [row["event"].at for row in response.context["events"]]
    assert times == sorted(times, reverse=True)
    html = response.content.decode()
    diff = reverse("plans:diff", kwargs={"patient_id": personas.patient.pk, "plan_id": plan.pk})
    assert f'href="{diff}?from=1&amp;to=2"' in html
    assert "By Rita Prescriber" in html
    safety = reverse("plans:safety", kwargs={"patient_id": personas.patient.pk, "kind": "safety"})
    assert f'href="{safety}?revision=1"' in html
    client = personas.client_for("therapist")
    for link in {row["event"].link for row in response.context["events"]}:
        assert client.get(link).status_code == 200, link
    assert "Changed: communication agreement." in html
    assert 'aria-current="page">Timeline</a>' in html


@pytest.mark.django_db
def test_a_clinician_consented_for_medications_sees_no_plan_events_and_cannot_ask_for_them(personas):
    make_plan(personas, revisions=2)
    client = personas.client_for("consented")

    response = client.get(url(personas, kind=["plan_revision", "consent"]))

    assert response.status_code == 200
    offered = {k["kind"] for k in response.context["kinds"]}
    assert offered == {"care_team", "consent", "break_glass", "side_effect", "medication", "lab"}
    assert all(row["event"].kind == "consent" for row in response.context["events"])
    assert "Depression plan" not in response.content.decode()
    assert "Depression plan" not in client.get(url(personas)).content.decode()


@pytest.mark.django_db
def test_the_organisation_admin_sees_the_record_events_only(personas):
    make_plan(personas)
    response = personas.client_for("org_admin").get(url(personas))
    assert response.status_code == 200
    assert {row["event"].kind for row in response.context["events"]} <= {
        "care_team",
        "consent",
        "break_glass",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["outsider", "colleague", "patient", "other_patient"])
def test_people_without_access_get_404_and_the_denial_is_audited(personas, persona):
    make_plan(personas)
    before = AuditEvent.objects.order_by("-seq").first().seq
    response = personas.client_for(persona).get(url(personas))
    assert response.status_code == 404
    denied = AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).get()
    assert denied.entity_type == "Timeline"
    assert "Depression plan" not in response.content.decode()


@pytest.mark.django_db
def test_opening_the_timeline_is_audited_as_a_read(personas):
    personas.client_for("prescriber").get(url(personas))
    event = AuditEvent.objects.latest("seq")
    assert (event.entity_type, event.action, event.patient_id) == ("Timeline", "read", personas.patient.pk)
    assert event.actor == personas.prescriber


@pytest.mark.django_db
def test_it_filters_by_kind(personas):
    make_plan(personas, revisions=2)
    response = personas.client_for("therapist").get(url(personas, kind="plan_revision"))
    kinds = {row["event"].kind for row in response.context["events"]}
    assert kinds == {"plan_revision"}
    assert len(response.context["events"]) == 3
    checked = [k["kind"] for k in response.context["kinds"] if k["checked"]]
    assert checked == ["plan_revision"]


@pytest.mark.django_db
def test_it_pages_back_in_time_with_a_cursor_and_keeps_the_filter(personas):
    make_plan(personas, revisions=PAGE_SIZE + 10)
    client = personas.client_for("therapist")
    first = client.get(url(personas, kind="plan_revision"))
    assert len(first.context["events"]) == PAGE_SIZE
    older = first.context["older"]
    assert "kind=plan_revision" in older and "before=" in older
    second = client.get(reverse("patients:timeline", kwargs={"patient_id": personas.patient.pk}) + older)
    assert len(second.context["events"]) == 11
    assert second.context["older"] == ""
    assert not set(titles(first)) & set(titles(second))
    assert titles(second)[-1] == "Depression plan started as a draft"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cursor",
    ["garbage", "2026-13-45T00:00:00+00:00", "2026-01-01T00:00:00", "9" * 100, "", "2026-02-30T10:00:00Z"],
)
def test_a_malformed_cursor_is_ignored(personas, cursor):
    make_plan(personas)
    client = personas.client_for("therapist")
    response = client.get(url(personas, before=cursor))
    assert response.status_code == 200
    assert titles(response) == titles(client.get(url(personas)))


def test_the_cursor_accepts_an_unencoded_plus_sign():
    assert parse_cursor("2026-03-01T10:00:00.123456 01:00") == datetime(
        2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC
    )
    assert parse_cursor("2026-03-01T10:00:00Z") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_cursor("2026-03-01 10:00:00 01:00") == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert parse_cursor("2026-03-01 10:00:00") is None  # naive


@pytest.mark.django_db
def test_the_timeline_has_a_fixed_number_of_queries(personas):
    client = personas.client_for("therapist")
    client.get(url(personas))  # warm the session
    first = make_plan(personas, revisions=4)
    do_set_plan_status(first, "active", acting_user=personas.therapist)  # one draft at a time
    with CaptureQueriesContext(connection) as few:
        response = client.get(url(personas))
    assert len(response.context["events"]) >= 5
    make_plan(personas, revisions=50)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url(personas))
    assert len(response.context["events"]) == PAGE_SIZE
    assert len(few.captured_queries) == len(many.captured_queries)


@pytest.mark.django_db
def test_times_are_shown_in_the_patients_time_zone(personas):
    with time_machine.travel(datetime(2026, 1, 15, 18, 30, tzinfo=UTC), tick=False):
        make_plan(personas)
    html = personas.client_for("therapist").get(url(personas, kind="plan_revision")).content.decode()
    # America/Chicago is UTC-6 in January
    assert "2026-01-15 12:30 CST" in html
    assert 'datetime="2026-01-15T12:30:00-06:00"' in html


@pytest.mark.django_db
def test_a_member_who_left_shows_after_their_last_day_and_not_before(personas):
    member = CareTeamMember.objects.get(patient=personas.patient, user=personas.care_manager)
    do_end_care_team_member(member, acting_user=personas.therapist)
    assert not any(
        "left the care team" in t for t in titles(personas.client_for("therapist").get(url(personas)))
    )
    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        shown = titles(personas.client_for("therapist").get(url(personas)))
    assert "Cara Manager left the care team (care manager)" in shown


@pytest.mark.django_db
def test_emergency_access_appears_on_the_timeline(personas):
    do_break_glass(personas.patient, user=personas.colleague, reason="Patient in the emergency room")
    response = personas.client_for("therapist").get(url(personas, kind="break_glass"))
    assert titles(response) == ["Col League opened the record with emergency access"]
    assert "Patient in the emergency room" in response.content.decode()


@pytest.mark.django_db
def test_a_consent_recorded_names_what_it_shares(personas):
    Consent.objects.create(
        patient=personas.patient,
        grantee_organisation=personas.other_org,
        categories=[Category.PLAN],
        start=timezone.localdate(),
        recorded_by=personas.org_admin,
    )
    response = personas.client_for("therapist").get(url(personas, kind="consent"))
    assert titles(response)[0] == "Consent recorded: Lakeside Health may see treatment plan"


@pytest.mark.django_db
def test_a_member_joins_on_their_first_day_not_when_they_were_added(personas):
    from tandem.lib.testing import make_user
    from tandem.patients.actions import do_add_care_team_member

    early = make_user("early@riverside.test", "Early Bird", personas.home, Role.THERAPIST)
    later = make_user("later@riverside.test", "Later Joiner", personas.home, Role.THERAPIST)
    start = timezone.localdate() - timedelta(days=100)
    do_add_care_team_member(
        personas.patient, user=early, role=Role.THERAPIST, start=start, acting_user=personas.org_admin
    )
    do_add_care_team_member(
        personas.patient,
        user=later,
        role=Role.THERAPIST,
        start=timezone.localdate() + timedelta(days=3),
        acting_user=personas.org_admin,
    )
    response = personas.client_for("therapist").get(url(personas, kind="care_team"))
    rows = [row["event"] for row in response.context["events"]]
    assert not any("Later Joiner" in e.title for e in rows)
    joined = rows[-1]
    assert joined.title == "Early Bird joined the care team as therapist"
    assert joined.at.astimezone(timezone.get_current_timezone()).date() == start
    assert joined.actor == "Ada Admin"
