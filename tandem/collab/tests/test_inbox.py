"""The inbox: urgency order, routing decided before the page is cut, filters, pages, a fixed
number of queries, and acknowledging or resolving from it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tandem.audit.models import AuditEvent
from tandem.collab.access import open_alerts_for
from tandem.collab.actions import do_acknowledge_alert
from tandem.collab.inbox import PER_PAGE, inbox_alerts, parse_filters
from tandem.collab.models import Alert, AlertStatus
from tandem.collab.tests.helpers import raise_alert
from tandem.lib.testing import make_patient
from tandem.patients.models import CareTeamMember

pytestmark = pytest.mark.django_db
INBOX = reverse("collab:inbox")


def inbox_keys(user, **params):
    return [a.dedup_key for a in inbox_alerts(user.pk, parse_filters(params))]


def test_urgency_then_unacknowledged_then_oldest(personas):
    now = timezone.now()
    for key, severity, age in [
        ("routine-old", "routine", 9),
        ("high-new", "high", 1),
        ("high-old", "high", 5),
        ("urgent-new", "urgent", 2),
        ("high-old-ack", "high", 8),
    ]:
        raise_alert(personas, key=key, severity=severity, now=now - timedelta(days=age))
    do_acknowledge_alert(Alert.objects.get(dedup_key="high-old-ack"), acting_user=personas.prescriber)
    assert inbox_keys(personas.prescriber) == [
        "urgent-new",
        "high-old",
        "high-new",
        "high-old-ack",
        "routine-old",
    ]


def test_routing_is_decided_before_the_limit(personas):
    """Many alerts routed to others must not push the prescriber's one alert off the page."""
    for n in range(12):
        raise_alert(personas, key=f"therapist-{n}", severity="urgent", route=("therapist",))
    raise_alert(personas, key="mine", severity="routine", route=("prescriber",))
    assert [a.dedup_key for a in open_alerts_for(personas.prescriber, limit=5)] == ["mine"]
    assert inbox_keys(personas.prescriber) == ["mine"]
    assert len(inbox_keys(personas.therapist)) == 12


def test_only_the_care_team_today_and_its_routed_roles(personas):
    raise_alert(personas, key="pat", route=("prescriber", "consultant"))
    raise_alert(personas, key="pat-cm", route=("care_manager",))
    assert inbox_keys(personas.prescriber) == ["pat"]
    assert inbox_keys(personas.consultant) == []  # "consultant" is not a care-team role
    for name in ("colleague", "outsider", "consented", "org_admin"):
        assert inbox_keys(getattr(personas, name)) == []
    CareTeamMember.objects.filter(user=personas.prescriber).update(
        end=timezone.localdate() - timedelta(days=1)
    )
    assert inbox_keys(personas.prescriber) == []


def test_filters(personas):
    oli = personas.other_patient
    CareTeamMember.objects.create(
        patient=oli,
        user=personas.prescriber,
        role="prescriber",
        organisation=personas.home,
        start=timezone.localdate(),
    )
    raise_alert(personas, key="a", kind="lab", severity="urgent")
    raise_alert(personas, key="b", kind="side_effect", severity="high")
    raise_alert(personas, patient=oli, key="c", kind="lab", severity="routine")
    do_acknowledge_alert(Alert.objects.get(dedup_key="b"), acting_user=personas.prescriber)
    p = personas.prescriber
    assert inbox_keys(p, severity="urgent") == ["a"]
    assert inbox_keys(p, kind="lab") == ["a", "c"]
    assert inbox_keys(p, q="oli") == ["c"] and inbox_keys(p, q="RC-1") == ["a", "b"]
    assert inbox_keys(p, q="pat patient") == ["a", "b"]
    assert inbox_keys(p, state="open") == ["a", "c"]
    assert inbox_keys(p, state="acknowledged") == ["b"]
    Alert.objects.filter(dedup_key="a").update(status=AlertStatus.RESOLVED)
    assert inbox_keys(p, state="resolved") == ["a"]
    assert inbox_keys(p) == ["b", "c"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"severity": "critical"}, "Severity:"),
        ({"kind": "weather"}, "Kind:"),
        ({"state": "closed"}, "State:"),
        ({"q": "x" * 101}, "Patient:"),
    ],
)
def test_a_bad_filter_is_named(personas, params, named):
    raise_alert(personas)
    response = personas.client_for("prescriber").get(INBOX, params)
    html = response.content.decode()
    assert response.status_code == 400
    assert named in html and "Alert k" in html  # the other filters still apply; nothing hidden


def test_pages_and_a_fixed_number_of_queries(personas):
    """10 queries whatever the number of alerts or filters: session, user, memberships, the
    COUNT, the page (alerts with patients and acknowledgers), three for the audit row, and two
    of the base template (crisis line, unread notifications)."""
    client = personas.client_for("prescriber")
    raise_alert(personas, key="first")
    client.get(INBOX)  # session and caches warm
    with CaptureQueriesContext(connection) as one:
        assert client.get(INBOX).status_code == 200
    for n in range(PER_PAGE + 4):
        raise_alert(personas, key=f"more-{n}", severity="urgent" if n % 3 else "routine")
    with CaptureQueriesContext(connection) as many:
        response = client.get(INBOX)
    assert len(many.captured_queries) == len(one.captured_queries) == 10
    html = response.content.decode()
    assert html.count('class="card alert') == PER_PAGE and "Page 1 of 2" in html
    page2 = client.get(INBOX, {"page": "2"}).content.decode()
    assert page2.count('class="card alert') == 5
    with CaptureQueriesContext(connection) as filtered:
        client.get(INBOX, {"severity": "urgent", "kind": "side_effect", "q": "pat", "state": "open"})
    assert len(filtered.captured_queries) == 10


def test_reading_the_inbox_is_audited_with_the_alerts_shown(personas):
    alert, _ = raise_alert(personas)
    personas.client_for("prescriber").get(INBOX)
    event = AuditEvent.objects.filter(entity_type="AlertInbox").latest("seq")
    assert event.extra["alerts"] == [alert.pk] and event.extra["patients"] == [personas.patient.pk]


def test_acknowledging_twice_is_harmless(personas):
    alert, _ = raise_alert(personas)
    url = reverse("collab:acknowledge", kwargs={"patient_id": personas.patient.pk, "alert_id": alert.pk})
    first = personas.client_for("prescriber").post(url, {"next": "inbox"})
    alert.refresh_from_db()
    at = alert.acknowledged_at
    second = personas.client_for("care_manager").post(url, {"next": "inbox"})
    assert first.status_code == second.status_code == 302 and second.url == INBOX
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == personas.prescriber and alert.acknowledged_at == at
    changes = AuditEvent.objects.filter(entity_type="Alert", entity_id=str(alert.pk), action="update")
    assert [e.extra.get("change") for e in changes] == ["acknowledged"]


def test_acknowledge_from_the_inbox_with_htmx_returns_the_card(personas):
    alert, _ = raise_alert(personas)
    url = reverse("collab:acknowledge", kwargs={"patient_id": personas.patient.pk, "alert_id": alert.pk})
    response = personas.client_for("prescriber").post(url, {"next": "inbox"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and f'id="alert-{alert.pk}"' in html
    assert "Acknowledged by Rita Prescriber" in html and ">Acknowledge<" not in html


def test_resolve_from_the_inbox_keeps_the_filters(personas):
    alert, _ = raise_alert(personas, severity="urgent")
    url = reverse("collab:resolve", kwargs={"patient_id": personas.patient.pk, "alert_id": alert.pk})
    client = personas.client_for("prescriber")
    back = "severity=urgent&kind=bogus&page=2"
    response = client.post(url, {"next": "inbox", "back": back, "note": ""})
    assert response.status_code == 302 and response.url == f"{INBOX}?severity=urgent&page=2"
    assert Alert.objects.get().status == AlertStatus.OPEN
    response = client.post(url, {"next": "inbox", "note": ""}, HTTP_HX_REQUEST="true")
    assert "Say how the alert was resolved." in response.content.decode()
    response = client.post(url, {"next": "inbox", "back": back, "note": "Called; plan agreed"})
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and alert.resolution_note == "Called; plan agreed"
    assert "Alert k" not in client.get(INBOX).content.decode()
    assert "Alert k" in client.get(INBOX, {"state": "resolved"}).content.decode()


def test_a_patient_not_on_my_team_cannot_be_acted_on_from_the_inbox(personas):
    other = make_patient(personas.home, "RC-9", "Nia", "Nobody")
    alert, _ = raise_alert(personas, patient=other)
    url = reverse("collab:acknowledge", kwargs={"patient_id": other.pk, "alert_id": alert.pk})
    assert personas.client_for("prescriber").post(url, {"next": "inbox"}).status_code == 404
    assert Alert.objects.get().status == AlertStatus.OPEN
