from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from tandem.collab.models import Alert
from tandem.core.seeding import DemoContext, builders
from tandem.safety.models import SafetyFlag


def run_demo() -> DemoContext:
    ctx = DemoContext(password="demo-password-1", today=timezone.localdate(), rng=random.Random(1))
    for label, module in builders("demo"):
        module.build(ctx)
        if label == "safety":
            break
    return ctx


@pytest.mark.django_db
def test_the_demo_has_one_flag_awaiting_acknowledgement_and_one_resolved_and_runs_twice():
    run_demo()
    open_flag = SafetyFlag.objects.get(status="open")
    resolved = SafetyFlag.objects.get(status="resolved")
    assert open_flag.patient.mrn == "DC-1004" and resolved.patient.mrn == "DC-1005"
    alert = Alert.objects.get(patient=open_flag.patient, kind="safety")
    assert alert.status == "open" and alert.acknowledged_at is None
    assert alert.ack_due_at is not None
    assert timezone.now() < alert.ack_due_at < timezone.now() + timedelta(minutes=20)
    assert resolved.resolved_by_assessment is not None
    assert Alert.objects.get(patient=resolved.patient, kind="safety").status == "resolved"
    counts = (SafetyFlag.objects.count(), Alert.objects.count())
    run_demo()
    assert (SafetyFlag.objects.count(), Alert.objects.count()) == counts
