"""Safety and relapse-prevention plans, clinician side: who may read and write, the form, conflicts,
revisions and the printable page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

import tandem
from tandem.audit.models import AuditEvent, Outcome
from tandem.patients.models import Category, Consent
from tandem.plans.actions import do_save_safety_document
from tandem.plans.models import SafetyDocument, SafetyRevision
from tandem.plans.safety_forms import content_from_text, parse_contact

READERS = {"prescriber", "therapist", "care_manager", "consultant"}
EDITORS = {"prescriber", "therapist", "care_manager"}
EVERYONE = READERS | {"org_admin", "patient", "other_patient", "colleague", "outsider", "consented"}

SAFETY_POST = {
    "base_revision": "0",
    "warning_signs": "Not sleeping\nStaying in bed all day",
    "coping_strategies": "- Walk the dog\n- Music",
    "distractions": "Coffee shop on Main Street",
    "people_to_ask": "Sam (sister) — 555 0100\nAlex - (555) 010-0199",
    "professionals": "Theo Therapist — 555 0111",
    "safe_environment": "Sam keeps my tablets",
    "reasons_for_living": "My kids",
    "reason": "First version, written together",
}


def url(name, personas, kind="safety"):
    return reverse(name, kwargs={"patient_id": personas.patient.pk, "kind": kind})


def last_seq():
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def assert_denied(response, before):
    assert response.status_code == 404
    assert AuditEvent.objects.filter(outcome=Outcome.DENIED, seq__gt=before).exists(), "denial not audited"


def save(personas, user, content, base=0, kind="safety"):
    return do_save_safety_document(
        personas.patient, kind, content=content, acting_user=user, base_revision=base, role="therapist"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("name", ["plans:safety", "plans:safety_print"])
def test_the_care_team_reads_the_safety_plan_and_everyone_else_gets_404(personas, name, persona):
    save(personas, personas.therapist, {"warning_signs": ["Not sleeping"]})
    before = last_seq()
    response = personas.client_for(persona).get(url(name, personas))
    if persona in READERS:
        assert response.status_code == 200
        assert "Not sleeping" in response.content.decode()
    else:
        assert_denied(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
def test_only_therapists_prescribers_and_care_managers_on_the_team_edit(personas, persona):
    before = last_seq()
    response = personas.client_for(persona).get(url("plans:safety_edit", personas, "relapse"))
    if persona in EDITORS:
        assert response.status_code == 200
    else:
        assert_denied(response, before)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE - EDITORS))
def test_nobody_else_can_post_a_safety_plan(personas, persona):
    before = last_seq()
    response = personas.client_for(persona).post(url("plans:safety_edit", personas), SAFETY_POST)
    assert_denied(response, before)
    assert not SafetyRevision.objects.exists()


@pytest.mark.django_db
def test_a_clinician_consented_for_the_plan_reads_it_but_cannot_edit(personas):
    Consent.objects.create(
        patient=personas.patient,
        grantee_user=personas.consented,
        categories=[Category.PLAN],
        start=personas.consent.start,
    )
    client = personas.client_for("consented")
    assert client.get(url("plans:safety", personas)).status_code == 200
    assert client.get(url("plans:safety_print", personas)).status_code == 200
    assert client.get(url("plans:safety_edit", personas)).status_code == 404
    assert client.post(url("plans:safety_edit", personas), SAFETY_POST).status_code == 404


@pytest.mark.django_db
def test_the_therapist_writes_the_plan_and_contacts_become_names_and_phones(personas):
    client = personas.client_for("therapist")
    response = client.post(url("plans:safety_edit", personas), SAFETY_POST)
    assert response.status_code == 302
    doc = SafetyDocument.objects.get(patient=personas.patient, kind="safety")
    revision = doc.current
    assert (
        revision.number == 1 and revision.author == personas.therapist and revision.author_role == "therapist"
    )
    assert revision.reason == "First version, written together"
    assert revision.content["coping_strategies"] == ["Walk the dog", "Music"]
    assert revision.content["people_to_ask"] == [
        {"name": "Sam (sister)", "phone": "555 0100"},
        {"name": "Alex", "phone": "(555) 010-0199"},
    ]
    html = client.get(url("plans:safety", personas)).content.decode()
    assert 'href="tel:5550100"' in html
    assert "Theo Therapist" in html
    # The crisis line is among the professionals although the plan does not list it.
    assert 'href="tel:988"' in html
    assert "revision 1" in html.lower()
    assert AuditEvent.objects.filter(
        entity_type="SafetyPlan", action="create", actor=personas.therapist
    ).exists()


@pytest.mark.django_db
def test_a_concurrent_save_shows_the_conflict_and_keeps_the_typed_text(personas):
    therapist = personas.client_for("therapist")
    form = therapist.get(url("plans:safety_edit", personas)).content.decode()
    assert 'name="base_revision" value="0"' in form
    # Meanwhile the prescriber saves first.
    save(personas, personas.prescriber, {"warning_signs": ["Skipping meals"]})
    mine = {**SAFETY_POST, "warning_signs": "Pacing at night"}
    response = therapist.post(url("plans:safety_edit", personas), mine)
    html = response.content.decode()
    assert response.status_code == 400
    assert "changed since you opened it" in html
    assert "Pacing at night" in html  # what I typed
    assert "Skipping meals" in html  # what they saved, shown next to it
    assert 'name="base_revision" value="1"' in html
    assert SafetyDocument.objects.get(patient=personas.patient, kind="safety").revision_count == 1
    # Having read theirs, a second save is deliberate and goes through.
    response = therapist.post(url("plans:safety_edit", personas), {**mine, "base_revision": "1"})
    assert response.status_code == 302
    assert SafetyDocument.objects.get(patient=personas.patient, kind="safety").current.content[
        "warning_signs"
    ] == ["Pacing at night"]


@pytest.mark.django_db
def test_a_bad_phone_is_named_by_its_section_and_line_and_nothing_typed_is_lost(personas):
    client = personas.client_for("care_manager")
    data = {**SAFETY_POST, "people_to_ask": "Sam (sister) — 555 0100\nMum — call her in the evening"}
    response = client.post(url("plans:safety_edit", personas), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>People I can ask for help:</strong> Line 2" in html
    assert "after the dash, write only the phone number" in html
    assert "Mum — call her in the evening" in html
    assert "Walk the dog" in html and "My kids" in html
    assert not SafetyRevision.objects.exists()


@pytest.mark.django_db
def test_a_contact_without_a_name_and_an_empty_form_get_clear_errors(personas):
    client = personas.client_for("therapist")
    response = client.post(url("plans:safety_edit", personas), {**SAFETY_POST, "professionals": "— 555 0111"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "<strong>Professionals and crisis lines I can contact:</strong> Line 1" in html
    assert "needs a name before the phone number" in html
    empty = {"base_revision": "0"}
    response = client.post(url("plans:safety_edit", personas), empty)
    assert response.status_code == 400
    assert "Write at least one line" in response.content.decode()


@pytest.mark.django_db
def test_too_many_or_too_long_lines_are_named(personas):
    client = personas.client_for("therapist")
    data = {
        **SAFETY_POST,
        "warning_signs": "\n".join(f"sign {i}" for i in range(25)),
        "distractions": "x" * 301,
    }
    html = client.post(url("plans:safety_edit", personas), data).content.decode()
    assert (
        "<strong>Warning signs that a crisis may be developing:</strong> has too many lines: at most 20"
        in html
    )
    assert "this line is too long: at most 300 characters" in html


@pytest.mark.django_db
def test_saving_the_same_text_again_changes_nothing(personas):
    client = personas.client_for("therapist")
    client.post(url("plans:safety_edit", personas), SAFETY_POST)
    response = client.post(
        url("plans:safety_edit", personas), {**SAFETY_POST, "base_revision": "1"}, follow=True
    )
    assert "Nothing changed." in response.content.decode()
    assert SafetyRevision.objects.count() == 1


@pytest.mark.django_db
def test_earlier_revisions_are_listed_and_each_can_be_read(personas):
    save(personas, personas.therapist, {"warning_signs": ["First sign"]})
    save(personas, personas.prescriber, {"warning_signs": ["Second sign"]}, base=1)
    client = personas.client_for("consultant")
    html = client.get(url("plans:safety", personas)).content.decode()
    assert "Second sign" in html and "First sign" not in html
    assert "?revision=1" in html and "Rita Prescriber" in html and "Theo Therapist" in html
    old = client.get(url("plans:safety", personas) + "?revision=1").content.decode()
    assert "First sign" in old and "An earlier version" in old
    for bad in ("99", "abc", "1" * 30):
        assert client.get(url("plans:safety", personas) + f"?revision={bad}").status_code == 404


@pytest.mark.django_db
def test_the_relapse_prevention_plan_is_a_separate_document(personas):
    client = personas.client_for("therapist")
    data = {
        "base_revision": "0",
        "warning_signs": "Withdrawing",
        "actions": "Call Theo",
        "contacts": "Theo — 555 0111",
        "maintenance": "Sleep by 11",
    }
    assert client.post(url("plans:safety_edit", personas, "relapse"), data).status_code == 302
    doc = SafetyDocument.objects.get(patient=personas.patient, kind="relapse")
    assert doc.current.content["contacts"] == [{"name": "Theo", "phone": "555 0111"}]
    assert not SafetyDocument.objects.filter(kind="safety").exists()


@pytest.mark.django_db
def test_an_unknown_kind_is_not_found(personas):
    client = personas.client_for("therapist")
    before = last_seq()
    assert_denied(client.get(url("plans:safety", personas, "nonsense")), before)
    assert client.get(url("plans:safety_edit", personas, "nonsense")).status_code == 404


@pytest.mark.django_db
def test_the_printable_page_has_no_navigation_and_shows_the_crisis_line(personas):
    save(personas, personas.therapist, {"warning_signs": ["Not sleeping"]})
    html = personas.client_for("therapist").get(url("plans:safety_print", personas)).content.decode()
    assert 'aria-label="Main"' not in html and "My patients" not in html
    assert "Not sleeping" in html and "Step 1" in html
    assert "call or text 988" in html
    css = (Path(tandem.__file__).parent / "static" / "tandem" / "tandem.css").read_text()
    assert "@media print" in css and ".top, .skip, .safety-strip" in css


@pytest.mark.django_db
def test_the_organisations_own_crisis_line_is_shown(personas):
    personas.home.crisis_line = "1-800-555-0199"
    personas.home.save(update_fields=["crisis_line"])
    html = personas.client_for("therapist").get(url("plans:safety", personas)).content.decode()
    assert 'href="tel:18005550199"' in html


def test_contact_lines_are_split_into_name_and_phone():
    assert parse_contact("Sam — 555 0100") == {"name": "Sam", "phone": "555 0100"}
    assert parse_contact("Dr Lee – 555-0100") == {"name": "Dr Lee", "phone": "555-0100"}
    assert parse_contact("Jean-Luc - 555 0100") == {"name": "Jean-Luc", "phone": "555 0100"}
    assert parse_contact("Crisis line 988") == {"name": "Crisis line", "phone": "988"}
    assert parse_contact("Clinic: +1 (555) 010-0199") == {"name": "Clinic", "phone": "+1 (555) 010-0199"}
    assert parse_contact("My neighbour") == {"name": "My neighbour", "phone": ""}
    assert parse_contact("Room 12") == {"name": "Room 12", "phone": ""}


def test_blank_lines_and_bullets_are_ignored():
    content = content_from_text(
        "relapse", {"warning_signs": "\n - one\n\n2) two\n   ", "contacts": "• Sam — 5"}
    )
    assert content["warning_signs"] == ["one", "two"]
    assert content["contacts"] == [{"name": "Sam", "phone": "5"}]


@pytest.mark.django_db
def test_a_tampered_form_is_refused_with_a_message_and_the_text_kept(personas):
    client = personas.client_for("therapist")
    for base in ("", "abc", "-1"):
        response = client.post(url("plans:safety_edit", personas), {**SAFETY_POST, "base_revision": base})
        html = response.content.decode()
        assert response.status_code == 400
        assert "This page was incomplete or out of date" in html and "Walk the dog" in html
    assert not SafetyRevision.objects.exists()
