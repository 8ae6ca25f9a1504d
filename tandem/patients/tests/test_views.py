from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Notification, Role
from tandem.audit.models import AuditEvent
from tandem.lib.testing import make_patient
from tandem.patients.models import BreakGlass, CareTeamMember, Consent, Patient


def add_caseload(personas, n: int) -> None:
    start = timezone.localdate() - timedelta(days=3)
    for i in range(n):
        patient = make_patient(personas.home, f"BULK-{i:03d}", f"Given{i}", f"Family{i:03d}")
        CareTeamMember.objects.create(
            patient=patient,
            user=personas.therapist,
            role=Role.THERAPIST,
            organisation=personas.home,
            start=start,
        )


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_my_patients_lists_the_caseload_with_a_fixed_number_of_queries(personas):
    client = personas.client_for("therapist")
    client.get(reverse("patients:list"))  # warm the session
    small = count_queries(client, reverse("patients:list"))
    add_caseload(personas, 60)
    large = count_queries(client, reverse("patients:list"))
    page3 = count_queries(client, reverse("patients:list") + "?page=3")
    assert small == large == page3
    # session, user, memberships, count, page, the audit row (lock head, insert, move head: 3),
    # the work list (plan changes to acknowledge: 1; open alerts: 2), then the navigation: is the
    # user a patient too, unread notifications
    assert large == 13


@pytest.mark.django_db
def test_my_patients_shows_only_the_clinicians_own_patients(personas):
    response = personas.client_for("colleague").get(reverse("patients:list"))
    html = response.content.decode()
    assert "Other, Oli" in html
    assert "Patient, Pat" not in html


@pytest.mark.django_db
def test_consented_patients_are_marked_as_shared(personas):
    html = personas.client_for("consented").get(reverse("patients:list")).content.decode()
    assert "Patient, Pat" in html
    assert "Shared by consent" in html


@pytest.mark.django_db
def test_search_by_name_or_mrn(personas):
    add_caseload(personas, 30)
    client = personas.client_for("therapist")
    html = client.get(reverse("patients:list") + "?q=Family007").content.decode()
    assert "Family007" in html and "Family008" not in html
    html = client.get(reverse("patients:list") + "?q=rc-1").content.decode()
    assert "Patient, Pat" in html and "Family0" not in html
    html = client.get(reverse("patients:list") + "?q=nobody-here").content.decode()
    assert "No patient of yours matches" in html


@pytest.mark.django_db
def test_search_is_served_as_a_fragment_to_htmx(personas):
    response = personas.client_for("therapist").get(
        reverse("patients:list") + "?q=Pat", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "Patient, Pat" in html
    assert "<html" not in html


@pytest.mark.django_db
def test_a_bad_page_number_gives_a_real_page(personas):
    client = personas.client_for("therapist")
    for page in ("0", "999", "abc", "-1", "1" * 40):
        assert client.get(reverse("patients:list") + f"?page={page}").status_code == 200


@pytest.mark.django_db
def test_opening_a_record_is_audited_with_the_basis(personas):
    personas.client_for("consented").get(
        reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    )
    event = AuditEvent.objects.filter(action="read", entity_type="Patient").latest("seq")
    assert event.actor == personas.consented
    assert event.patient_id == personas.patient.pk
    assert event.extra["basis"] == "consent"


@pytest.mark.django_db
def test_an_org_admin_sees_identity_and_team_but_no_clinical_tabs(personas):
    html = (
        personas.client_for("org_admin")
        .get(reverse("patients:detail", kwargs={"patient_id": personas.patient.pk}))
        .content.decode()
    )
    assert "Care team" in html and "Theo Therapist" in html
    assert "Administrator view" in html
    for tab in ("plan", "medications", "therapy", "measures", "messages"):
        assert reverse("patients:tab", kwargs={"patient_id": personas.patient.pk, "tab": tab}) not in html


def edit_data(patient: Patient, **changes: str) -> dict[str, str]:
    data = {
        "given_name": patient.given_name,
        "family_name": patient.family_name,
        "preferred_name": "",
        "mrn": patient.mrn,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "time_zone": patient.time_zone,
        "preferred_language": "en",
        "email": "pat@example.test",
        "phone": "+1 555 0100",
        "address": "",
        "emergency_contact_name": "Sam",
        "emergency_contact_phone": "+1 555 0101",
        "emergency_contact_relationship": "Partner",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_a_bad_date_and_time_zone_are_named_and_the_rest_is_kept(personas):
    url = reverse("patients:edit", kwargs={"patient_id": personas.patient.pk})
    data = edit_data(
        personas.patient, date_of_birth="31/02/1990", time_zone="Mars/Olympus", phone="+1 555 0199"
    )
    response = personas.client_for("therapist").post(url, data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<strong>Date of birth:</strong> Enter the date of birth as YYYY-MM-DD." in html
    assert "<strong>Time zone:</strong>" in html and "Mars/Olympus" in html
    assert 'value="+1 555 0199"' in html  # what was typed is still there
    personas.patient.refresh_from_db()
    assert personas.patient.time_zone == "America/Chicago"
    assert personas.patient.phone == ""


@pytest.mark.django_db
def test_a_future_date_of_birth_is_refused(personas):
    url = reverse("patients:edit", kwargs={"patient_id": personas.patient.pk})
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = personas.client_for("therapist").post(url, edit_data(personas.patient, date_of_birth=tomorrow))
    assert "The date of birth is in the future." in response.content.decode()


@pytest.mark.django_db
def test_an_edit_saves_and_records_which_fields_changed(personas):
    url = reverse("patients:edit", kwargs={"patient_id": personas.patient.pk})
    response = personas.client_for("therapist").post(
        url, edit_data(personas.patient, time_zone="America/Denver")
    )
    assert response.status_code == 302
    personas.patient.refresh_from_db()
    assert personas.patient.time_zone == "America/Denver"
    event = AuditEvent.objects.filter(action="update", entity_type="Patient").latest("seq")
    assert "time_zone" in event.extra["fields"]
    assert event.actor_role == Role.THERAPIST


@pytest.mark.django_db
def test_an_mrn_already_used_in_the_organisation_is_refused(personas):
    url = reverse("patients:edit", kwargs={"patient_id": personas.patient.pk})
    response = personas.client_for("therapist").post(url, edit_data(personas.patient, mrn="RC-2"))
    assert response.status_code == 400
    assert "already has this MRN" in response.content.decode()


@pytest.mark.django_db
def test_an_admin_adds_a_patient_and_then_the_care_team(personas):
    client = personas.client_for("org_admin")
    data = edit_data(
        personas.patient, mrn="RC-77", given_name="Nia", family_name="New", time_zone="America/New_York"
    )
    response = client.post(reverse("manage:patient_new"), data)
    assert response.status_code == 302
    patient = Patient.objects.get(mrn="RC-77")
    response = client.post(
        reverse("patients:team_add", kwargs={"patient_id": patient.pk}),
        {"user": personas.therapist.pk, "role": Role.THERAPIST},
    )
    assert response.status_code == 302
    assert (
        personas.client_for("therapist")
        .get(reverse("patients:detail", kwargs={"patient_id": patient.pk}))
        .status_code
        == 200
    )
    again = client.post(
        reverse("patients:team_add", kwargs={"patient_id": patient.pk}),
        {"user": personas.therapist.pk, "role": Role.THERAPIST},
    )
    assert "already on the care team" in again.content.decode()


@pytest.mark.django_db
def test_a_clinician_cannot_join_a_team_in_a_role_they_do_not_hold(personas):
    response = personas.client_for("org_admin").post(
        reverse("patients:team_add", kwargs={"patient_id": personas.other_patient.pk}),
        {"user": personas.therapist.pk, "role": Role.PRESCRIBER},
    )
    assert response.status_code == 400
    assert "does not hold the role" in response.content.decode()


@pytest.mark.django_db
def test_consent_to_an_outside_clinician_shares_only_the_chosen_categories(personas):
    client = personas.client_for("org_admin")
    response = client.post(
        reverse("patients:consent_new", kwargs={"patient_id": personas.other_patient.pk}),
        {
            "grantee_user": personas.outsider.pk,
            "categories": ["plan"],
            "start": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    outsider = personas.client_for("outsider")
    tab = lambda t: reverse("patients:tab", kwargs={"patient_id": personas.other_patient.pk, "tab": t})  # noqa: E731
    assert outsider.get(tab("plan")).status_code == 200
    assert outsider.get(tab("medications")).status_code == 404
    consent = Consent.objects.get(patient=personas.other_patient, grantee_user=personas.outsider)
    client.post(
        reverse(
            "patients:consent_revoke",
            kwargs={"patient_id": personas.other_patient.pk, "consent_id": consent.pk},
        ),
        {"reason": "Patient withdrew"},
    )
    assert outsider.get(tab("plan")).status_code == 404


@pytest.mark.django_db
def test_a_consent_form_with_no_grantee_or_a_bad_end_date_is_explained(personas):
    response = personas.client_for("org_admin").post(
        reverse("patients:consent_new", kwargs={"patient_id": personas.patient.pk}),
        {"categories": ["plan"], "start": "2026-05-01", "end": "2026-04-01", "purpose": "Second opinion"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose either one clinician or one organisation." in html
    assert "The end date is before the start date." in html
    assert 'value="Second opinion"' in html


@pytest.mark.django_db
def test_break_glass_opens_the_record_audits_and_tells_the_team_and_admins(
    personas, django_capture_on_commit_callbacks
):
    client = personas.client_for("colleague")
    url = reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    assert client.get(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("patients:break_glass"),
            {"mrn": "RC-1", "reason": "Patient in the waiting room in crisis; team away"},
        )
    assert response.status_code == 302
    assert response["Location"] == url
    assert client.get(url).status_code == 200
    event = AuditEvent.objects.get(action="break-glass")
    assert event.actor == personas.colleague and event.patient_id == personas.patient.pk
    assert "crisis" in event.extra["reason"]
    told = set(Notification.objects.values_list("user__email", flat=True))
    assert told == {
        "prescriber@riverside.test",
        "therapist@riverside.test",
        "care@riverside.test",
        "consultant@riverside.test",
        "admin@riverside.test",
    }
    assert len(mail.outbox) == 1
    assert "Pat" not in mail.outbox[0].body  # no patient detail by e-mail
    assert BreakGlass.objects.get().expires_at > timezone.now()


@pytest.mark.django_db
def test_break_glass_expires(personas):
    import time_machine

    client = personas.client_for("colleague")
    client.post(
        reverse("patients:break_glass"), {"mrn": "RC-1", "reason": "Urgent medication question tonight"}
    )
    url = reverse("patients:detail", kwargs={"patient_id": personas.patient.pk})
    with time_machine.travel(timezone.now() + timedelta(hours=5)):
        client.force_login(personas.colleague)
        assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_break_glass_is_refused_for_another_organisations_patient(personas):
    response = personas.client_for("outsider").post(
        reverse("patients:break_glass"),
        {"mrn": "RC-1", "reason": "I would like to look at this record please"},
    )
    assert response.status_code == 400
    assert "No patient with this MRN in your organisation." in response.content.decode()
    assert not BreakGlass.objects.exists()
    assert AuditEvent.objects.filter(action="denied", actor=personas.outsider).exists()


@pytest.mark.django_db
def test_break_glass_needs_a_real_reason(personas):
    response = personas.client_for("colleague").post(
        reverse("patients:break_glass"), {"mrn": "RC-1", "reason": "need"}
    )
    assert response.status_code == 400
    assert "Why you need this record now" in response.content.decode()


@pytest.mark.django_db
def test_ages_are_computed_on_the_day(personas):
    patient = personas.patient
    patient.date_of_birth = date(2000, 2, 29)
    assert patient.age_on(date(2026, 2, 28)) == 25
    assert patient.age_on(date(2026, 3, 1)) == 26


@pytest.mark.django_db
def test_a_team_member_invites_the_patient_to_the_portal(personas, django_capture_on_commit_callbacks):
    patient = make_patient(personas.home, "RC-9", "Ivy", "Invite", email="Ivy@Example.test")
    CareTeamMember.objects.create(
        patient=patient,
        user=personas.therapist,
        role=Role.THERAPIST,
        organisation=personas.home,
        start=timezone.localdate(),
    )
    url = reverse("patients:portal_invite", kwargs={"patient_id": patient.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = personas.client_for("therapist").post(url)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.portal_user is not None and patient.portal_user.email == "ivy@example.test"
    assert not patient.portal_user.has_usable_password()
    assert mail.outbox[0].to == ["ivy@example.test"]
    assert "/accounts/password-reset/" in str(mail.outbox[0].body)
    again = personas.client_for("therapist").post(url, follow=True)
    assert "already has a portal account" in again.content.decode()


@pytest.mark.django_db
def test_an_invite_without_an_email_says_what_is_missing(personas):
    patient = make_patient(personas.home, "RC-10", "Noe", "Mail")
    CareTeamMember.objects.create(
        patient=patient,
        user=personas.therapist,
        role=Role.THERAPIST,
        organisation=personas.home,
        start=timezone.localdate(),
    )
    response = personas.client_for("therapist").post(
        reverse("patients:portal_invite", kwargs={"patient_id": patient.pk}), follow=True
    )
    assert "Add the patient&#x27;s email address first" in response.content.decode()
    patient.refresh_from_db()
    assert patient.portal_user is None
