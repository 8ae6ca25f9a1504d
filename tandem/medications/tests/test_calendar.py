from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import include, path, reverse

import tandem.urls
from tandem.audit.models import Action, AuditEvent, Outcome
from tandem.medications.actions import do_start_regimen
from tandem.medications.calendar import (
    CalendarEvent,
    FeedSource,
    fold,
    registry,
    render_calendar,
)
from tandem.medications.feed_models import CalendarFeed

# Until tandem/urls.py mounts the feeds, the tests run with this URLconf: the project's plus them.
urlpatterns = [*tandem.urls.urlpatterns, path("feeds/", include("tandem.medications.feed_urls"))]
handler404 = tandem.urls.handler404
pytestmark = pytest.mark.urls(__name__)

CHICAGO = ZoneInfo("America/Chicago")  # where the personas' patient lives


# A small RFC 5545 reader, to check the feed as a calendar client sees it -----------------------


@dataclass
class Component:
    name: str
    props: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def get(self, name: str) -> str:
        values = [value for prop, _, value in self.props if prop == name]
        assert len(values) == 1, f"{self.name} has {len(values)} {name}"
        return values[0]

    def all(self, name: str) -> list[Component]:
        return [child for child in self.children if child.name == name]


def unescape(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def parse_ics(data: bytes) -> Component:
    assert data.endswith(b"\r\n")
    physical = data.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in physical), "bare line breaks"
    assert all(len(line) <= 75 for line in physical), "a line longer than 75 octets"
    lines: list[str] = []
    for raw in physical:
        text = raw.decode("utf-8")  # also proves that no fold split a character
        if text.startswith((" ", "\t")):
            lines[-1] += text[1:]
        else:
            lines.append(text)
    stack: list[Component] = []
    root: Component | None = None
    for line in lines:
        head, value = line.split(":", 1)
        name, *raw_params = head.split(";")
        params = dict(p.split("=", 1) for p in raw_params)
        if name == "BEGIN":
            component = Component(value)
            if stack:
                stack[-1].children.append(component)
            else:
                root = component
            stack.append(component)
        elif name == "END":
            assert stack.pop().name == value
        else:
            stack[-1].props.append((name, params, value))
    assert not stack and root is not None and root.name == "VCALENDAR"
    return root


def utc(value: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


# Helpers -------------------------------------------------------------------------------------


def sertraline(personas, times=("08:00", "20:00")):
    return do_start_regimen(
        personas.patient,
        drug_key="sertraline",
        drug_name="Sertraline",
        drug_classes=["ssri"],
        dose_amount=50,
        times=list(times),
        reason="Start for depression",
        acting_user=personas.prescriber,
        role="prescriber",
        effective_at=datetime(2026, 1, 1, tzinfo=CHICAGO),
    )


def make_link(client) -> tuple[str, str]:
    """Make a link from the portal page; (the feed path, the full URL shown once)."""
    response = client.post(reverse("portal:calendar_new"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    url = re.search(r'value="(http[^"]+\.ics)"', html).group(1)
    assert f'href="webcal://{url.split("://", 1)[1]}"' in html
    return "/" + url.split("/", 3)[3], url


NOW = datetime(2026, 3, 5, 12, 0, tzinfo=CHICAGO)  # three days before the clocks go forward


# The feed ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_feed_has_every_dose_with_an_alarm_at_its_time_across_dst(personas, client):
    sertraline(personas)
    with time_machine.travel(NOW, tick=False):
        feed_path, _ = make_link(personas.client_for("patient"))
        response = client.get(feed_path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = parse_ics(response.content)
    assert calendar.get("VERSION") == "2.0" and calendar.get("PRODID")
    events = calendar.all("VEVENT")
    assert len(events) == 22 * 2  # 26 Feb to 19 Mar: the past 7 days, today and the next 14
    starts = [utc(e.get("DTSTART")) for e in events]
    assert starts == sorted(starts)
    local = [s.astimezone(CHICAGO) for s in starts]
    assert {moment.time() for moment in local} == {time(8, 0), time(20, 0)}  # CST and CDT alike
    assert {moment.utcoffset() for moment in local} == {timedelta(hours=-6), timedelta(hours=-5)}
    assert local[0].date().isoformat() == "2026-02-26" and local[-1].date().isoformat() == "2026-03-19"
    for event, start in zip(events, starts, strict=True):
        assert utc(event.get("DTEND")) - start == timedelta(minutes=15)
        assert event.get("SUMMARY") == "Medication reminder"
        alarms = event.all("VALARM")
        if start >= NOW:
            [alarm] = alarms
            assert alarm.get("ACTION") == "DISPLAY"
            assert alarm.get("TRIGGER") == "PT0S"  # at the dose time itself
            assert alarm.get("DESCRIPTION") == "Medication reminder"
        else:
            assert alarms == []  # no alarms in the past: some clients replay them
    assert len({e.get("UID") for e in events}) == len(events)
    assert b"Sertraline" not in response.content and b"Pat" not in response.content


@pytest.mark.django_db
def test_event_uids_stay_the_same_from_one_fetch_to_the_next(personas, client):
    sertraline(personas)
    with time_machine.travel(NOW, tick=False):
        feed_path, _ = make_link(personas.client_for("patient"))
        first = parse_ics(client.get(feed_path).content)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        second = parse_ics(client.get(feed_path).content)
    assert [e.get("UID") for e in first.all("VEVENT")] == [e.get("UID") for e in second.all("VEVENT")]


@pytest.mark.django_db
def test_medication_names_appear_only_when_the_patient_chooses(personas, client):
    sertraline(personas, times=("08:00",))
    patient = personas.client_for("patient")
    with time_machine.travel(NOW, tick=False):
        feed_path, _ = make_link(patient)
        response = patient.post(reverse("portal:calendar_titles"), {"show_names": "yes"})
        assert response.status_code == 302
        named = parse_ics(client.get(feed_path).content)
        patient.post(reverse("portal:calendar_titles"), {"show_names": "no"})
        private = parse_ics(client.get(feed_path).content)
    event = named.all("VEVENT")[-1]
    assert event.get("SUMMARY") == "Medication: Sertraline 50 mg"
    assert unescape(event.get("DESCRIPTION")).startswith("Sertraline 50 mg\n\nRecord it in Tandem: ")
    assert all(e.get("SUMMARY") == "Medication reminder" for e in private.all("VEVENT"))


@pytest.mark.django_db
def test_two_medications_at_one_time_are_one_event(personas, client):
    sertraline(personas, times=("08:00",))
    do_start_regimen(
        personas.patient,
        drug_key="lithium",
        drug_name="Lithium",
        drug_classes=["mood_stabiliser"],
        dose_amount=300,
        times=["08:00"],
        reason="Augment",
        acting_user=personas.prescriber,
        effective_at=datetime(2026, 1, 1, tzinfo=CHICAGO),
    )
    with time_machine.travel(NOW, tick=False):
        feed_path, _ = make_link(personas.client_for("patient"))
        personas.client_for("patient").post(reverse("portal:calendar_titles"), {"show_names": "yes"})
        calendar = parse_ics(client.get(feed_path).content)
    events = calendar.all("VEVENT")
    assert len(events) == 22
    # Commas are escaped in TEXT values.
    assert events[0].get("SUMMARY") == "Medications: Lithium 300 mg\\, Sertraline 50 mg"


@pytest.mark.django_db
def test_a_revoked_token_answers_404_exactly_like_an_unknown_one(personas, client):
    sertraline(personas)
    patient = personas.client_for("patient")
    feed_path, _ = make_link(patient)
    assert client.get(feed_path).status_code == 200
    response = patient.post(reverse("portal:calendar_revoke"))
    assert response.status_code == 302
    revoked = client.get(feed_path)
    unknown = client.get(reverse("feeds:doses", kwargs={"token": "x" * 43}))
    assert revoked.status_code == unknown.status_code == 404
    assert revoked.content == unknown.content
    assert not revoked.cookies and not unknown.cookies
    assert CalendarFeed.objects.get().revoked_at is not None


@pytest.mark.django_db
def test_a_new_link_changes_the_url_and_the_old_one_stops_working(personas, client):
    sertraline(personas)
    patient = personas.client_for("patient")
    old_path, old_url = make_link(patient)
    new_path, new_url = make_link(patient)
    assert new_url != old_url
    assert client.get(old_path).status_code == 404
    assert client.get(new_path).status_code == 200
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_only_the_tokens_hash_is_stored_and_the_page_shows_the_link_once(personas):
    patient = personas.client_for("patient")
    _, url = make_link(patient)
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get()
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {feed.prefix, feed.token_hash}
    page = patient.get(reverse("portal:calendar")).content.decode()
    assert token not in page and f"starting {token[:6]}…" in page


@pytest.mark.django_db
def test_every_fetch_is_audited_and_refusals_too(personas, client):
    sertraline(personas)
    feed_path, _ = make_link(personas.client_for("patient"))
    client.get(feed_path, HTTP_USER_AGENT="Calendar/1.0")
    fetch = AuditEvent.objects.filter(entity_type="CalendarFeed", action=Action.EXPORT).get()
    assert (fetch.actor_id, fetch.actor_label, fetch.patient_id) == (
        None,
        "calendar feed",
        personas.patient.pk,
    )
    assert fetch.outcome == Outcome.SUCCESS and fetch.user_agent == "Calendar/1.0"
    assert fetch.actor_role == "patient"  # the patient's own subscription, not someone opening the record
    assert CalendarFeed.objects.get().last_fetched_at is not None
    client.get(reverse("feeds:doses", kwargs={"token": "y" * 43}))
    personas.client_for("patient").post(reverse("portal:calendar_revoke"))
    client.get(feed_path)
    denied = list(AuditEvent.objects.filter(entity_type="CalendarFeed", action=Action.DENIED).order_by("seq"))
    assert [(e.patient_id, e.extra["reason"], e.actor_label) for e in denied] == [
        (None, "unknown token", "calendar feed"),
        (personas.patient.pk, "revoked", "calendar feed"),
    ]
    assert all("y" * 8 not in str(e.extra) + e.entity_id for e in denied)


@pytest.mark.django_db
def test_the_feed_stops_when_the_patient_loses_portal_access(personas, client):
    sertraline(personas)
    feed_path, _ = make_link(personas.client_for("patient"))
    personas.patient_user.is_active = False
    personas.patient_user.save(update_fields=["is_active"])
    assert client.get(feed_path).status_code == 404


@pytest.mark.django_db
def test_the_calendar_page_is_the_patients_own(personas, client):
    url = reverse("portal:calendar")
    assert client.get(url).status_code == 302  # to the sign-in page
    clinicians = (
        "prescriber",
        "therapist",
        "care_manager",
        "consultant",
        "org_admin",
        "colleague",
        "outsider",
    )
    for name in (*clinicians, "consented"):
        denied = AuditEvent.objects.filter(outcome=Outcome.DENIED, entity_type="CalendarFeed")
        before = denied.count()
        assert personas.client_for(name).get(url).status_code == 404, name
        assert personas.client_for(name).post(reverse("portal:calendar_new")).status_code == 404, name
        assert denied.count() == before + 2, name  # both refusals audited
    assert not CalendarFeed.objects.exists()
    # Another patient's page is their own: it knows nothing of Pat's link.
    make_link(personas.client_for("patient"))
    other = personas.client_for("other_patient").get(url).content.decode()
    assert "Make my calendar link" in other
    personas.client_for("other_patient").post(reverse("portal:calendar_revoke"))
    assert CalendarFeed.objects.get().patient == personas.patient
    assert CalendarFeed.objects.get().revoked_at is None


@pytest.mark.django_db
def test_feed_changes_are_audited_as_the_patients(personas):
    patient = personas.client_for("patient")
    make_link(patient)
    patient.post(reverse("portal:calendar_titles"), {"show_names": "yes"})
    patient.post(reverse("portal:calendar_revoke"))
    changes = AuditEvent.objects.filter(entity_type="CalendarFeed", actor=personas.patient_user).order_by(
        "seq"
    )
    assert [(e.action, e.extra.get("show_names"), e.extra.get("change")) for e in changes] == [
        (Action.CREATE, False, None),
        (Action.UPDATE, True, None),
        (Action.UPDATE, None, "revoked"),
    ]


class SessionSource(FeedSource):
    """What the therapy app would register from tandem/therapy/calendar.py."""

    key = "test-sessions"

    def events(self, patient, options):
        start = datetime.combine(options.last_day, time(15, 0), tzinfo=patient.tz)
        return [CalendarEvent("session-1@test", start, start + timedelta(minutes=50), "Therapy session")]


@pytest.mark.django_db
def test_another_app_adds_its_events_to_the_same_feed(personas, client, monkeypatch):
    monkeypatch.setattr(registry, "_sources", dict(registry._sources))
    registry.sources()  # discovery done before the extra source, as at run time
    registry.register(SessionSource())
    with time_machine.travel(NOW, tick=False):
        feed_path, _ = make_link(personas.client_for("patient"))
        events = parse_ics(client.get(feed_path).content).all("VEVENT")
    assert [e.get("SUMMARY") for e in events] == ["Therapy session"]  # no regimen: no doses


# Writing RFC 5545 ----------------------------------------------------------------------------


def test_long_lines_fold_at_75_octets_without_splitting_a_character():
    line = "DESCRIPTION:" + "Médicament — prise du soir; ça va, merci. " * 6
    folded = fold(line)
    physical = folded.split(b"\r\n")[:-1]
    assert all(len(p) <= 75 for p in physical) and len(physical) > 3
    assert all(p.startswith(b" ") for p in physical[1:])
    assert b"".join([physical[0], *(p[1:] for p in physical[1:])]).decode() == line


def test_text_values_are_escaped_and_parse_back():
    at = datetime(2026, 3, 8, 8, 0, tzinfo=CHICAGO)
    event = CalendarEvent(
        "u@test", at, at + timedelta(minutes=15), "A; B, C\\D", description="line one\nline two", alarm=True
    )
    body = render_calendar([event], name="Tandem", now=at)
    [parsed] = parse_ics(body).all("VEVENT")
    assert unescape(parsed.get("SUMMARY")) == "A; B, C\\D"
    assert unescape(parsed.get("DESCRIPTION")) == "line one\nline two"
    assert parsed.get("DTSTART") == "20260308T130000Z"  # 08:00 CDT
    assert parsed.all("VALARM")[0].props[1] == ("TRIGGER", {"RELATED": "START"}, "PT0S")
