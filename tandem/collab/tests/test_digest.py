"""The daily digest: at the clinician's local time across a daylight-saving change, once a day,
only when something is open, never naming a patient, and off when they turn it off."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from tandem.collab.actions import do_resolve_alert
from tandem.collab.digest import EMAIL_SUBJECT, counts_for, send_digests, send_one
from tandem.collab.models import DigestPreference
from tandem.collab.tests.helpers import raise_alert

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")  # the personas' organisation's zone


def dst_change() -> date:
    """The first day, at least five days from the care team's start (30 days ago), on which New
    York's offset at noon differs from the day before's."""
    day = timezone.localdate() - timedelta(days=25)
    for _ in range(400):
        before = datetime.combine(day - timedelta(days=1), time(12), tzinfo=NEW_YORK).utcoffset()
        if datetime.combine(day, time(12), tzinfo=NEW_YORK).utcoffset() != before:
            return day
        day += timedelta(days=1)
    raise AssertionError("no daylight-saving change within 400 days")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK).astimezone(UTC)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run the job at `moment`, committing (so the e-mails are sent) when it returns."""

    def go(moment: datetime):
        with django_capture_on_commit_callbacks(execute=True), time_machine.travel(moment, tick=False):
            return send_digests(timezone.now())

    return go


def digests_to(email: str) -> int:
    return sum(1 for m in mail.outbox if m.subject == EMAIL_SUBJECT and email in m.to)


def test_sent_at_local_time_on_both_sides_of_a_daylight_saving_change(personas, run):
    change = dst_change()
    raise_alert(personas, key="a", severity="urgent")
    raise_alert(personas, key="b", severity="routine")
    mail.outbox.clear()
    prescriber = "prescriber@riverside.test"
    for day in (change - timedelta(days=1), change, change + timedelta(days=1)):
        assert run(at(day, 7, 29)).sent == 0
        assert digests_to(prescriber) == (day - change).days + 1
        run(at(day, 7, 30))
        assert digests_to(prescriber) == (day - change).days + 2
        run(at(day, 7, 35))
        run(at(day, 23, 59))
        assert digests_to(prescriber) == (day - change).days + 2
    # 07:30 in New York is a different UTC hour before and after the change.
    assert at(change - timedelta(days=1), 7, 30).hour != at(change + timedelta(days=1), 7, 30).hour
    pref = DigestPreference.objects.get(user=personas.prescriber)
    assert pref.last_sent_on == change + timedelta(days=1)
    assert pref.last_sent_at == at(change + timedelta(days=1), 7, 30)


def test_the_email_counts_by_severity_and_names_no_patient(personas, run):
    raise_alert(personas, key="a", severity="urgent")
    raise_alert(personas, key="b", severity="high")
    raise_alert(personas, key="c", severity="high", route=("care_manager",))
    mail.outbox.clear()
    day = timezone.localdate() + timedelta(days=1)
    run(at(day, 8))
    [message] = [m for m in mail.outbox if "prescriber@riverside.test" in m.to]
    assert "Urgent:  1" in message.body and "High:    1" in message.body and "Routine: 0" in message.body
    assert "2 of them not yet acknowledged" in message.body
    assert reverse("collab:inbox") in message.body and reverse("collab:digest_settings") in message.body
    for detail in ("Pat", "Patient", "RC-1", "Alert a", "Over its threshold", "side"):
        assert detail not in message.body and detail not in message.subject
    assert counts_for(personas.care_manager.pk).total == 1


def test_only_when_something_is_open(personas, run):
    alert, _ = raise_alert(personas)
    do_resolve_alert(alert, note="Done", acting_user=personas.prescriber)
    mail.outbox.clear()
    result = run(at(timezone.localdate() + timedelta(days=1), 9))
    assert result.candidates == 0 and result.sent == 0 and not mail.outbox
    assert not DigestPreference.objects.filter(last_sent_on__isnull=False).exists()


def test_turned_off_or_later_in_the_day(personas, run):
    raise_alert(personas)
    DigestPreference.objects.create(user=personas.prescriber, enabled=False)
    mail.outbox.clear()
    day = timezone.localdate() + timedelta(days=1)
    run(at(day, 12))
    assert digests_to("prescriber@riverside.test") == 0
    DigestPreference.objects.filter(user=personas.prescriber).update(enabled=True, send_at=time(18, 15))
    run(at(day, 18, 14))
    assert digests_to("prescriber@riverside.test") == 0
    run(at(day, 18, 15))
    assert digests_to("prescriber@riverside.test") == 1


def test_a_day_is_claimed_once(personas, django_capture_on_commit_callbacks):
    """Two workers at once: the conditional UPDATE lets one of them send."""
    raise_alert(personas)
    DigestPreference.objects.create(user=personas.prescriber)
    day = timezone.localdate()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_one(personas.prescriber.pk, day, timezone.now()) is True
        assert send_one(personas.prescriber.pk, day, timezone.now()) is False
    assert digests_to("prescriber@riverside.test") == 1


def test_the_settings_page(personas):
    client = personas.client_for("prescriber")
    url = reverse("collab:digest_settings")
    assert client.get(url).status_code == 200
    response = client.post(url, {"enabled": "on", "send_at": "25:99"})
    html = response.content.decode()
    assert response.status_code == 400 and "At (your organisation&#x27;s local time):" in html
    assert 'value="25:99"' in html
    assert client.post(url, {"send_at": "06:45"}).status_code == 302
    pref = DigestPreference.objects.get(user=personas.prescriber)
    assert not pref.enabled and pref.send_at == time(6, 45)
