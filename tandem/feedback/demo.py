"""Demo feedback: the patient's feedback on the demo clinic's attended visits (one
clinician-patient pair declining, so its clinician's notification and flags show), and about six
weeks of daily check-ins for a few patients. Running it again adds nothing.

Visit feedback needs attended visits; when there are none yet, only the check-ins are made and
the command says so.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import time, timedelta
from decimal import Decimal

from django.utils import timezone

from tandem.accounts.models import Organisation
from tandem.core.seeding import DemoContext
from tandem.feedback import rules
from tandem.feedback.access import FEEDBACK_KINDS, window_start
from tandem.feedback.actions import notify_clinician
from tandem.feedback.instrument import visit_feedback
from tandem.feedback.models import CheckIn, FeedbackStatus, VisitFeedback
from tandem.lib.timezones import at_local
from tandem.patients.models import Patient
from tandem.therapy.models import Session, SessionStatus

CHECKIN_PATIENTS = 5  # the clinic's first patients (Maya, the portal account, first)
CHECKIN_DAYS = 42
# Mood trend per check-in patient: improving, steady, worsening, improving, erratic.
TRENDS = ("improving", "steady", "worsening", "improving", "erratic")
DECLINING_OVERALL = [9, 9, 8, 8, 6, 5]  # the declining pair, oldest to newest (last ones flagged)

WORKING = [
    "Having a plan for the week helps.",
    "Talking through the thought records.",
    "The new dose seems to help my sleep.",
    "",
]
NOT_WORKING = ["", "", "Sessions feel rushed at the end.", "I still dread the homework."]
BETTER = ["", "More time on work stress.", "", "Start with what happened this week."]


def build(ctx: DemoContext) -> None:
    org = ctx.orgs.get("demo-clinic")
    if org is None:
        return
    rng = random.Random(5150)
    _checkins(ctx, org, rng)
    _visit_feedback(ctx, org, rng)


def _checkins(ctx: DemoContext, org: Organisation, rng: random.Random) -> None:
    patients = list(Patient.objects.filter(organisation=org).order_by("mrn")[:CHECKIN_PATIENTS])
    have = set(CheckIn.objects.filter(patient__in=patients).values_list("patient_id", flat=True).distinct())
    rows = []
    for patient, trend in zip(patients, TRENDS, strict=False):
        if patient.pk in have:
            continue
        for back in range(CHECKIN_DAYS, 0, -1):
            if rng.random() < 0.2:  # not every day
                continue
            day = ctx.today - timedelta(days=back)
            progress = (CHECKIN_DAYS - back) / CHECKIN_DAYS
            base = {"improving": 3 + 4 * progress, "steady": 6, "worsening": 7 - 4 * progress}.get(
                trend, rng.uniform(2, 8)
            )
            mood = max(0, min(10, round(base + rng.uniform(-1.2, 1.2))))
            anxiety = max(0, min(10, round(10 - base + rng.uniform(-1.5, 1.5))))
            sleep = Decimal(max(3, min(10, round((5 + base / 3 + rng.uniform(-1, 1)) * 2) / 2))).quantize(
                Decimal("0.1")
            )
            at = at_local(day, time(20, 30), patient.tz)
            rows.append(
                CheckIn(
                    patient=patient,
                    day=day,
                    mood=mood,
                    anxiety=anxiety if rng.random() < 0.9 else None,
                    sleep_hours=sleep if rng.random() < 0.85 else None,
                    note=rng.choice(
                        ["", "", "", "Long day at work.", "Walked with a friend.", "Slept badly."]
                    ),
                    created_at=at,
                    updated_at=at,
                    recorded_by=patient.portal_user,
                    last_key=f"demo-{patient.pk}-{day:%Y%m%d}",
                )
            )
    CheckIn.objects.bulk_create(rows)
    if rows:
        ctx.count("check-ins", len(rows))


def _visit_feedback(ctx: DemoContext, org: Organisation, rng: random.Random) -> None:
    sessions = list(
        Session.objects.filter(
            patient__organisation=org, status=SessionStatus.ATTENDED, kind__in=FEEDBACK_KINDS
        )
        .select_related("patient", "clinician")
        .order_by("starts_at", "pk")
    )
    if not sessions:
        if ctx.out is not None:
            ctx.out.write("feedback: no attended visits yet, so only check-ins were made (no visit feedback)")
        return
    done = set(VisitFeedback.objects.filter(session__in=sessions).values_list("session_id", flat=True))
    pairs: dict[tuple[int, int], list[Session]] = defaultdict(list)
    now = timezone.now()
    for session in sessions:
        pairs[(session.patient_id, session.clinician_id)].append(session)
    for visits in pairs.values():
        latest = visits[-1]
        if latest.patient.portal_user_id and latest.starts_at > window_start(now):
            visits.pop()  # the portal account's latest visit waits for the patient's own feedback
    # The declining pair: the first patient's (the portal account's) own therapist if they had
    # enough visits to show a trend, else the first pair that did.
    candidates = sorted(
        (key for key, visits in pairs.items() if len(visits) >= 4),
        key=lambda k: (pairs[k][0].patient.mrn, pairs[k][0].clinician.email != "therapist@demo.tandem"),
    )
    declining = candidates[0] if candidates else None
    instrument = visit_feedback()
    labels = {i.link_id: i.short for i in instrument.ratings}
    for key, visits in pairs.items():
        previous: list[int] = [
            v
            for v in VisitFeedback.objects.filter(
                patient_id=key[0], clinician_id=key[1], status=FeedbackStatus.GIVEN
            )
            .order_by("-visit_at")
            .values_list("overall", flat=True)[: rules.DROP_WINDOW]
            if v is not None
        ]
        flagged_last = None
        for n, session in enumerate(visits):
            if session.pk in done:
                continue
            roll = rng.random()
            if key != declining and roll < 0.12:
                status = FeedbackStatus.NOT_NOW if roll < 0.06 else FeedbackStatus.DECLINED
                VisitFeedback.objects.create(
                    session=session,
                    patient=session.patient,
                    clinician=session.clinician,
                    kind=session.kind,
                    visit_at=session.starts_at,
                    status=status,
                    submitted_at=session.ends_at + timedelta(hours=3),
                    submitted_by=session.patient.portal_user,
                )
                ctx.count("visit feedback")
                continue
            if key == declining:  # the last visits follow DECLINING_OVERALL's tail, earlier ones 9
                index = n - (len(visits) - len(DECLINING_OVERALL))
                overall = DECLINING_OVERALL[index] if index >= 0 else 9
            else:
                overall = rng.choice([7, 8, 8, 9, 9, 10])
            scores = {
                "heard": max(0, min(10, overall + rng.choice([0, 0, 1]))),
                "goals": max(0, min(10, overall + rng.choice([-1, 0, 0, 1]))),
                "approach": max(0, min(10, overall + rng.choice([-1, 0, 0]))),
                "overall": overall,
            }
            findings = rules.evaluate(scores, previous, labels=labels)
            feedback = VisitFeedback.objects.create(
                session=session,
                patient=session.patient,
                clinician=session.clinician,
                kind=session.kind,
                visit_at=session.starts_at,
                status=FeedbackStatus.GIVEN,
                instrument=instrument.id,
                instrument_version=instrument.version,
                findings=[f.as_dict() for f in findings],
                submitted_at=session.ends_at + timedelta(hours=2),
                submitted_by=session.patient.portal_user,
                working=rng.choice(WORKING),
                not_working="Sessions feel rushed and we keep skipping my questions."
                if findings
                else rng.choice(NOT_WORKING),
                better=rng.choice(BETTER),
                **scores,
            )
            ctx.count("visit feedback")
            previous = [overall, *previous][: rules.DROP_WINDOW]
            if findings:
                flagged_last = feedback
        if flagged_last is not None:
            notify_clinician(flagged_last, flagged_last.patient)
