"""The demo's case review: this week's recommendations (one acted on) and a request, made once."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from tandem.core.seeding import DemoContext
from tandem.handoffs.models import HandoffStatus
from tandem.registry import demo
from tandem.registry.models import Recommendation, ReviewRequest

pytestmark = pytest.mark.django_db


def test_the_demo_builds_this_weeks_review_once(personas):
    ctx = DemoContext(
        password="x", today=timezone.localdate(), rng=random.Random(1), orgs={"demo-clinic": personas.home}
    )
    demo.build(ctx)
    recs = list(Recommendation.objects.select_related("handoff"))
    assert sorted(r.handoff.status for r in recs) == [HandoffStatus.DONE, HandoffStatus.OPEN]
    assert ReviewRequest.objects.count() == 1
    demo.build(ctx)
    assert Recommendation.objects.count() == 2 and ReviewRequest.objects.count() == 1
