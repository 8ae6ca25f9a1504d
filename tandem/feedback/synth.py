"""Synthetic feedback for `tandem synth`, for one patient in CHECKIN_EVERY (every fifth):
30 days of check-ins before the anchor, on about four days in five, in each patient's own time
zone; and visit feedback on their attended visits (as the therapy app's synth made them): most
rated, some skipped, the rules applied per clinician-patient pair. Deterministic for a seed (its
own random stream, so other apps' data do not change). No notifications are sent.
"""

from __future__ import annotations

import random
from datetime import time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tandem.core.seeding import SynthContext
from tandem.feedback import rules
from tandem.feedback.access import FEEDBACK_KINDS
from tandem.feedback.instrument import visit_feedback
from tandem.feedback.models import CheckIn, FeedbackStatus, VisitFeedback
from tandem.lib.timezones import at_local
from tandem.patients.models import Patient
from tandem.therapy.models import Session, SessionStatus

CHECKIN_EVERY = 5  # one patient in five checks in
CHECKIN_DAYS = 30
SLEEP = [Decimal(h) / 2 for h in range(8, 20)]  # 4 to 9.5 hours


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    rng = random.Random(ctx.seed * 7919 + 17)
    ctx.progress.set_description("check-ins")
    ctx.progress.reset(total=last - first + 1)
    made = rated = 0
    for start in range(first, last + 1, ctx.batch):
        stop = min(last, start + ctx.batch - 1)
        zones = dict(Patient.objects.filter(pk__gte=start, pk__lte=stop).values_list("pk", "time_zone"))
        rows = []
        for pid in range(start, stop + 1):
            if (pid - first) % CHECKIN_EVERY or pid not in zones:
                continue
            tz = ZoneInfo(zones[pid])
            level = rng.randint(3, 8)
            for back in range(CHECKIN_DAYS, 0, -1):
                if rng.random() < 0.2:
                    continue
                day = ctx.anchor - timedelta(days=back)
                at = at_local(day, time(21, 0), tz)
                mood = min(10, max(0, level + rng.randint(-2, 2)))
                rows.append(
                    CheckIn(
                        patient_id=pid,
                        day=day,
                        mood=mood,
                        anxiety=min(10, max(0, 10 - level + rng.randint(-2, 2))),
                        sleep_hours=rng.choice(SLEEP),
                        created_at=at,
                        updated_at=at,
                        last_key=f"synth-{pid}-{back}",
                    )
                )
        CheckIn.objects.bulk_create(rows, batch_size=ctx.batch)
        made += len(rows)
        rated += _visit_feedback(ctx, rng, first, start, stop)
        ctx.progress.update(stop - start + 1)
    ctx.created["check-ins"] = made
    ctx.created["visit feedback"] = rated


def _visit_feedback(ctx: SynthContext, rng: random.Random, first: int, start: int, stop: int) -> int:
    sessions = (
        Session.objects.filter(
            patient_id__gte=start,
            patient_id__lte=stop,
            status=SessionStatus.ATTENDED,
            kind__in=FEEDBACK_KINDS,
        )
        .order_by("patient_id", "clinician_id", "starts_at")
        .values_list("pk", "patient_id", "clinician_id", "kind", "starts_at")
    )
    instrument = visit_feedback()
    rows = []
    previous: dict[tuple[int, int], list[int]] = {}
    for pk, pid, clinician_id, kind, starts_at in sessions:
        if (pid - first) % CHECKIN_EVERY:
            continue
        common = {
            "session_id": pk,
            "patient_id": pid,
            "clinician_id": clinician_id,
            "kind": kind,
            "visit_at": starts_at,
            "submitted_at": starts_at + timedelta(hours=2),
        }
        roll = rng.random()
        if roll < 0.1:
            status = FeedbackStatus.NOT_NOW if roll < 0.05 else FeedbackStatus.DECLINED
            rows.append(VisitFeedback(status=status, **common))
            continue
        overall = rng.choice((5, 7, 8, 8, 9, 9, 9, 10, 10, 10))
        scores = {
            "heard": min(10, overall + rng.choice((0, 0, 1))),
            "goals": max(0, overall - rng.choice((0, 0, 1, 2))),
            "approach": max(0, overall - rng.choice((0, 0, 1))),
            "overall": overall,
        }
        earlier = previous.setdefault((pid, clinician_id), [])
        findings = rules.evaluate(scores, earlier)
        earlier.insert(0, overall)
        del earlier[rules.DROP_WINDOW :]
        rows.append(
            VisitFeedback(
                status=FeedbackStatus.GIVEN,
                instrument=instrument.id,
                instrument_version=instrument.version,
                findings=[f.as_dict() for f in findings],
                **scores,
                **common,
            )
        )
    VisitFeedback.objects.bulk_create(rows, batch_size=ctx.batch)
    return len(rows)
