"""Psychotherapy notes reach their author and nobody else, on every surface.

Every persona but the author — the rest of the care team, another therapist on the team, the org
admin, a colleague, an outsider, a clinician consented for therapy summaries, a clinician who
broke the glass, the patient — gets the same 404 as a missing id, audited as a denial without
text. The text never appears on any other page (timeline, lists, search, audit views, portal,
JSON API, error pages), and no audit row carries it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from tandem.accounts.models import Role
from tandem.audit.models import AuditEvent, Outcome
from tandem.lib.testing import make_user
from tandem.lib.timeline import QuerySource, collect, registry
from tandem.notes.actions import do_sign_progress_note
from tandem.notes.models import PsychotherapyNote
from tandem.notes.tests.helpers import attended_session, complete, private_note, signed_note
from tandem.patients.access import grant_for
from tandem.patients.actions import do_break_glass
from tandem.patients.models import CareTeamMember, Category, Consent

pytestmark = pytest.mark.django_db

SECRET = "Quetzalfig"
TEXT = f"Session material\nPatient spoke about {SECRET} and their brother."
INTRUDER = "Intruder words Marzipanowl"
OTHERS = [
    "prescriber",
    "care_manager",
    "consultant",
    "org_admin",
    "second_therapist",
    "colleague",
    "outsider",
    "consented",
    "break_glass",
    "patient",
    "other_patient",
]


class World:
    def __init__(self, personas: Any) -> None:
        self.p = personas
        self.second_therapist = make_user("t2@riverside.test", "Tess Second", personas.home, Role.THERAPIST)
        CareTeamMember.objects.create(
            patient=personas.patient,
            user=self.second_therapist,
            role=Role.THERAPIST,
            organisation=personas.home,
        )
        Consent.objects.filter(pk=personas.consent.pk).update(
            categories=[Category.MEDICATIONS, Category.MEASURES, Category.THERAPY_SUMMARIES]
        )
        self.glass = make_user("glass@riverside.test", "Gil Glass", personas.home, Role.PRESCRIBER)
        do_break_glass(personas.patient, user=self.glass, reason="Patient in crisis, team unreachable")
        self.session = attended_session(personas.patient, personas.therapist)
        self.note = private_note(personas.patient, personas.therapist, TEXT)

    def user(self, name: str) -> Any:
        extra = {"second_therapist": self.second_therapist, "break_glass": self.glass}
        return extra[name] if name in extra else self.p.all()[name]

    def client(self, name: str) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(self.user(name))
        return client

    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(name, kwargs={"patient_id": self.p.patient.pk, **kwargs})


@pytest.fixture
def world(personas) -> World:
    return World(personas)


def all_url_names() -> Iterator[str]:
    def walk(patterns: list, namespace: str | None) -> Iterator[str]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern) and p.name:
                yield f"{namespace}:{p.name}" if namespace else p.name

    yield from walk(get_resolver().url_patterns, None)


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


def assert_hidden(response: Any, before: int) -> None:
    assert response.status_code == 404
    body = response.content.decode()
    assert SECRET not in body and INTRUDER not in body and "Session material" not in body
    denied = AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED)
    assert denied.exists(), "the denial was not audited"
    assert all(SECRET not in json.dumps(e.extra) and INTRUDER not in json.dumps(e.extra) for e in denied)


def no_csrf(body: str) -> str:
    return re.sub(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]*', r"\1", body)


# --- The note's own pages, persona by persona --------------------------------------------------


def test_the_author_reads_and_edits_their_note(world):
    client = world.client("therapist")
    url = world.url("notes:private", note_id=world.note.pk)
    response = client.get(url)
    assert response.status_code == 200 and SECRET in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert client.post(url, {"text": TEXT + "\nMore."}).status_code == 302
    world.note.refresh_from_db()
    assert world.note.text.endswith("More.")
    listing = client.get(world.url("notes:private_list")).content.decode()
    assert url in listing


@pytest.mark.parametrize("persona", OTHERS)
def test_nobody_else_reads_the_note(world, persona):
    before = last_seq()
    response = world.client(persona).get(world.url("notes:private", note_id=world.note.pk))
    assert_hidden(response, before)


@pytest.mark.parametrize("persona", OTHERS)
def test_nobody_else_edits_the_note(world, persona):
    before = last_seq()
    response = world.client(persona).post(
        world.url("notes:private", note_id=world.note.pk), {"text": INTRUDER}
    )
    assert_hidden(response, before)
    world.note.refresh_from_db()
    assert world.note.text == TEXT


@pytest.mark.parametrize("persona", OTHERS)
def test_nobody_else_gets_a_form_error_instead_of_not_found(world, persona):
    """A bad submission by anybody but the author is 404, never a 400 that would confirm the note."""
    before = last_seq()
    response = world.client(persona).post(world.url("notes:private", note_id=world.note.pk), {"text": ""})
    assert_hidden(response, before)


@pytest.mark.parametrize("persona", OTHERS)
def test_the_answer_for_someone_elses_note_is_the_answer_for_a_missing_id(world, persona):
    client = world.client(persona)
    existing = client.get(world.url("notes:private", note_id=world.note.pk))
    missing = client.get(world.url("notes:private", note_id=world.note.pk + 1000))
    assert existing.status_code == missing.status_code == 404
    assert no_csrf(existing.content.decode()) == no_csrf(missing.content.decode())


@pytest.mark.parametrize("persona", [p for p in OTHERS if p != "second_therapist"])
def test_nobody_else_lists_or_writes_private_notes(world, persona):
    client = world.client(persona)
    for name in ("notes:private_list", "notes:private_new"):
        before = last_seq()
        assert_hidden(client.get(world.url(name)), before)
    before = last_seq()
    assert_hidden(client.post(world.url("notes:private_new"), {"text": INTRUDER}), before)
    assert PsychotherapyNote.objects.count() == 1


def test_another_therapist_on_the_team_sees_only_their_own_private_notes(world):
    client = world.client("second_therapist")
    html = client.get(world.url("notes:private_list")).content.decode()
    assert SECRET not in html and world.url("notes:private", note_id=world.note.pk) not in html
    assert "You have no private notes" in html
    assert client.post(world.url("notes:private_new"), {"text": "Mine", "key": "k" * 16}).status_code == 302
    own = PsychotherapyNote.objects.get(author=world.second_therapist)
    assert world.client("therapist").get(world.url("notes:private", note_id=own.pk)).status_code == 404
    html = world.client("therapist").get(world.url("notes:private_list")).content.decode()
    assert "Mine" not in html


def test_the_author_off_the_team_loses_access(world):
    CareTeamMember.objects.filter(patient=world.p.patient, user=world.p.therapist).delete()
    before = last_seq()
    assert_hidden(world.client("therapist").get(world.url("notes:private", note_id=world.note.pk)), before)


def test_the_authors_note_under_another_patient_is_not_found(world):
    CareTeamMember.objects.create(
        patient=world.p.other_patient, user=world.p.therapist, role=Role.THERAPIST, organisation=world.p.home
    )
    url = reverse("notes:private", kwargs={"patient_id": world.p.other_patient.pk, "note_id": world.note.pk})
    before = last_seq()
    assert_hidden(world.client("therapist").get(url), before)


def test_malformed_ids_are_not_found_not_errors(world):
    client = world.client("therapist")
    base = world.url("notes:private_list")
    for tail in ("abc/", "0/", "99999999999999999999999/", "-1/"):
        assert client.get(base + tail).status_code == 404


def test_writing_is_idempotent_and_keeps_the_typed_text_on_an_error(world):
    client = world.client("therapist")
    url = world.url("notes:private_new")
    response = client.post(url, {"text": "x" * 20001, "key": "z" * 16})
    assert response.status_code == 400 and "longer than" in response.content.decode()
    for _ in range(2):
        assert client.post(url, {"text": "Second note", "key": "z" * 16}).status_code == 302
    assert PsychotherapyNote.objects.filter(text="Second note").count() == 1
    other_session = attended_session(world.p.patient, world.p.prescriber)
    response = client.post(url, {"text": "Typed words", "session": str(other_session.pk), "key": "y" * 16})
    assert response.status_code == 400 and "Typed words" in response.content.decode()


# --- Everywhere else -------------------------------------------------------------------------


def test_the_notes_list_does_not_change_when_a_private_note_exists(personas):
    """Nobody — not even the author — can tell from the list that private notes exist or how many."""
    signed_note(personas.patient, personas.therapist, days_ago=3)
    url = reverse("notes:list", kwargs={"patient_id": personas.patient.pk})
    names = ["therapist", "prescriber", "care_manager", "consultant"]
    before = {n: no_csrf(personas.client_for(n).get(url).content.decode()) for n in names}
    private_note(personas.patient, personas.therapist, TEXT)
    private_note(personas.patient, personas.therapist, "Another")
    for name in names:
        assert no_csrf(personas.client_for(name).get(url).content.decode()) == before[name], name
    private_link = reverse("notes:private_list", kwargs={"patient_id": personas.patient.pk})
    assert private_link in before["therapist"]
    assert all(private_link not in before[n] for n in names[1:])


def test_no_timeline_source_reads_psychotherapy_notes(world):
    for source in registry.sources():
        if isinstance(source, QuerySource):
            assert source.queryset(world.p.patient).model is not PsychotherapyNote, source
    for user in (world.p.therapist, world.p.prescriber, world.glass):
        grant = grant_for(user, world.p.patient)
        assert grant is not None
        for event in collect(world.p.patient, grant, None, None, 500).events:
            assert SECRET not in event.title + event.detail and "sychotherapy" not in event.title
    html = world.client("therapist").get(world.url("patients:timeline")).content.decode()
    assert SECRET not in html and "rivate note" not in html


def test_searching_the_patients_list_for_a_word_of_the_note_finds_nothing(world):
    client = world.client("therapist")
    found = client.get(reverse("patients:list"), {"q": "Patient"}).content.decode()
    assert world.p.patient.mrn in found
    html = client.get(reverse("patients:list"), {"q": SECRET}).content.decode()
    assert world.p.patient.mrn not in html and SECRET in html  # the query echoed, no match


def test_audit_rows_never_carry_the_text(world):
    client = world.client("therapist")
    client.get(world.url("notes:private", note_id=world.note.pk))
    client.post(world.url("notes:private", note_id=world.note.pk), {"text": TEXT + " edited"})
    world.client("prescriber").post(world.url("notes:private", note_id=world.note.pk), {"text": INTRUDER})
    events = AuditEvent.objects.filter(patient=world.p.patient)
    assert events.filter(entity_type="PsychotherapyNote", action="create").exists()
    assert events.filter(entity_type="PsychotherapyNote", action="update").exists()
    assert events.filter(entity_type="PsychotherapyNote", outcome=Outcome.DENIED).exists()
    for event in AuditEvent.objects.all():
        row = json.dumps([event.extra, event.entity_id, event.user_agent, event.actor_label])
        assert SECRET not in row and INTRUDER not in row and "Session material" not in row


def test_the_org_audit_log_shows_the_events_without_content(world):
    world.client("therapist").get(world.url("notes:private", note_id=world.note.pk))
    world.client("care_manager").get(world.url("notes:private", note_id=world.note.pk))
    html = world.client("org_admin").get(reverse("audit:org_log")).content.decode()
    assert html.count("Psychotherapy note (content not shown)") >= 3
    assert SECRET not in html and "PsychotherapyNote" not in html
    assert f"PsychotherapyNote {world.note.pk}" not in html


def test_the_patients_access_log_names_a_private_note_without_content_or_id(world):
    world.client("therapist").get(world.url("notes:private", note_id=world.note.pk))
    world.client("prescriber").get(world.url("notes:private", note_id=world.note.pk))  # denied: not listed
    html = world.client("patient").get(reverse("portal:access_log")).content.decode()
    rows = re.findall(r"<tr>.*?</tr>", html, re.S)
    private = [r for r in rows if "Private therapist note" in r]
    assert private and all("Theo Therapist" in r for r in private)
    assert SECRET not in html and "PsychotherapyNote" not in html and "Rita Prescriber" not in html


def _pages(world: World) -> list[tuple[str, str]]:
    """Every URL that takes no argument, or only the patient, or the patient and a session."""
    found = []
    attempts = [
        {},
        {"patient_id": world.p.patient.pk},
        {"patient_id": world.p.patient.pk, "session_id": world.session.pk},
    ]
    for name in sorted(set(all_url_names())):
        for kwargs in attempts:
            try:
                found.append((name, reverse(name, kwargs=kwargs)))
                break
            except NoReverseMatch:
                continue
    return found


@pytest.mark.parametrize("persona", ["therapist", "prescriber", "care_manager", "org_admin", "patient"])
def test_no_other_page_or_api_ever_shows_the_text(world, persona):
    do_sign_progress_note(world.session, complete(), acting_user=world.p.therapist)
    client = world.client(persona)
    own = {"notes:private_list", "notes:private"} if persona == "therapist" else set()
    pages = _pages(world)
    assert {"portal:home", "portal:access_log", "api:plan_list", "notes:list", "patients:timeline"} <= {
        n for n, _ in pages
    }
    statuses = {}
    for name, url in pages:
        if name in own or name in ("logout",):
            continue
        response = client.get(url)
        statuses[name] = response.status_code
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert SECRET.encode() not in body, name
    if persona == "therapist":  # the pages were really shown, not refused
        assert all(
            statuses[n] == 200 for n in ("notes:list", "patients:timeline", "api:plan_list", "notes:progress")
        )
    if persona == "patient":
        assert statuses["portal:home"] == statuses["portal:access_log"] == 200


def test_the_api_schema_has_no_psychotherapy_notes(world):
    schema = world.client("therapist").get("/api/openapi.json").content.decode().lower()
    assert "psychotherapy" not in schema and "private-notes" not in schema and "private_note" not in schema


def test_there_is_no_portal_page_for_notes():
    assert not [n for n in all_url_names() if n.startswith("portal") and "note" in n]


def test_the_not_found_page_never_echoes_what_was_sent(world):
    response = world.client("consultant").post(
        world.url("notes:private", note_id=world.note.pk) + f"?q={SECRET}", {"text": SECRET}
    )
    assert response.status_code == 404 and SECRET not in response.content.decode()
    assert response.content.decode().count("Not found") >= 1
