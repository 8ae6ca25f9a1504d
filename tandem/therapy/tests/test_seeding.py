from __future__ import annotations

import pytest
from django.core.management import call_command

from tandem.collab.models import Alert
from tandem.therapy.models import Session, SessionKind, SessionStatus
from tandem.therapy.signals import KEY_NO_SHOWS


@pytest.mark.django_db
def test_the_demo_has_sessions_a_no_show_alert_and_runs_twice_without_duplicates():
    call_command("demo")
    sessions = Session.objects.count()
    assert sessions > 300
    assert Session.objects.filter(kind=SessionKind.MEDICATION).exists()
    assert Session.objects.filter(status=SessionStatus.SCHEDULED, series__isnull=False).exists()
    jim = Alert.objects.get(dedup_key=KEY_NO_SHOWS, patient__family_name="Carter")
    assert jim.rule_id == "sessions.no_shows_in_a_row"
    call_command("demo")
    assert Session.objects.count() == sessions
    assert Alert.objects.filter(dedup_key=KEY_NO_SHOWS, patient__family_name="Carter").count() == 1


@pytest.mark.django_db
def test_synth_gives_every_patient_twelve_sessions_with_their_therapist():
    call_command("synth", "--patients", "30", "--no-progress")
    assert Session.objects.count() == 30 * 12
    assert not Session.objects.exclude(clinician__memberships__role="therapist").exists()
    assert Session.objects.filter(status=SessionStatus.SCHEDULED).count() == 30 * 4
