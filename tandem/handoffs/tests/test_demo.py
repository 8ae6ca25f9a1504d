"""The demo's hand-offs and messages: one in each state, read receipts, made once."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from tandem.core.seeding import DemoContext
from tandem.handoffs import demo
from tandem.handoffs.models import Audience, Handoff, Message, MessageRead, Thread

pytestmark = pytest.mark.django_db


def context(personas) -> DemoContext:
    return DemoContext(
        password="x", today=timezone.localdate(), rng=random.Random(1), orgs={"demo-clinic": personas.home}
    )


def test_the_demo_has_handoffs_in_flight_and_threads_with_receipts(personas):
    ctx = context(personas)
    demo.build(ctx)
    states = dict(Handoff.objects.values_list("kind", "status"))
    assert states == {
        "consult_request": "open",
        "medication_change": "acknowledged",
        "session_observation": "done",
    }
    assert set(Thread.objects.values_list("audience", flat=True)) == {Audience.TEAM, Audience.TEAM_PATIENT}
    shared = Thread.objects.get(audience=Audience.TEAM_PATIENT)
    patient_reply = Message.objects.get(thread=shared, author=personas.patient_user)
    assert MessageRead.objects.filter(message=patient_reply, user=personas.therapist).exists()
    team = Thread.objects.get(audience=Audience.TEAM)
    assert MessageRead.objects.filter(message__thread=team, user=personas.therapist).count() == 2
    assert ctx.created == {"hand-offs": 3, "message threads": 2}


def test_running_the_demo_twice_creates_nothing_twice(personas):
    demo.build(context(personas))
    counts = (
        Handoff.objects.count(),
        Thread.objects.count(),
        Message.objects.count(),
        MessageRead.objects.count(),
    )
    ctx = context(personas)
    demo.build(ctx)
    again = (
        Handoff.objects.count(),
        Thread.objects.count(),
        Message.objects.count(),
        MessageRead.objects.count(),
    )
    assert again == counts
    assert ctx.created == {}


def test_without_the_demo_clinic_it_does_nothing(personas):
    demo.build(DemoContext(password="x", today=timezone.localdate(), rng=random.Random(1)))
    assert not Handoff.objects.exists()
