"""Demo PHQ-9 and GAD-7 trajectories, matched to what the medications and therapy demos recorded
for each Demo Clinic patient: the scores start just before treatment began and come every 14 days
(or as the plan's monitoring section says), and the course each patient follows is chosen from
their own dose log, refills and attendance:

- responders and remitters among patients who took their doses and came to sessions;
- non-responders with good adherence (10 weeks or more of treatment, no 50 % fall);
- early non-improvers (2–5 weeks in, under 20 % better);
- non-adherent non-improvers (doses missed or sessions missed, scores flat).

Item 9 is always 0 here: the positive-item-9 patient belongs to the safety workflow's demo.
Idempotent: a Demo Clinic that already has these responses is left alone.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from tandem.core.seeding import DemoContext
from tandem.measures import definitions
from tandem.measures.actions import do_record_response
from tandem.measures.models import AdministeredBy, InstrumentResponse, Source
from tandem.measures.schedule import monitoring_section
from tandem.measures.signals import job
from tandem.measures.signals.adequacy import RULES, judge
from tandem.measures.signals.inputs import PatientInputs, gather
from tandem.patients.models import Patient

KEY = "demo-t2t"
RESPONDING = ("responder", "remitter", "non_responder")
# The sleep item (PHQ-9 question 3) lags the rest: it is the last to improve.
SLEEP = "/44259-0"


def build(ctx: DemoContext) -> None:
    org = ctx.orgs.get("demo-clinic")
    if (
        org is None
        or InstrumentResponse.objects.filter(
            patient__organisation=org, idempotency_key__startswith=KEY
        ).exists()
    ):
        return
    now = timezone.now()
    patients = list(Patient.objects.filter(organisation=org).order_by("mrn").select_related("portal_user"))
    facts = gather([p.pk for p in patients], now, RULES)
    made = []
    for i, patient in enumerate(patients):
        pi = facts.get(patient.pk)
        schedule = _schedule(patient)
        if pi is None or pi.treatment_start is None or not schedule:
            continue
        course = _course(i, pi, now)
        rng = random.Random(f"{KEY}-{patient.mrn}")
        for instrument, every in schedule.items():
            n = _trajectory(ctx, patient, instrument, every, pi.treatment_start, course, now, rng)
            ctx.count(f"{definitions.get(instrument).short_name} responses", n)
        made.append(patient.pk)
    if made:
        job.evaluate(made, now)


def _schedule(patient: Patient) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in monitoring_section(patient):
        defn = definitions.by_plan_key(str(row.get("instrument")))
        every = row.get("every_days")
        if defn is not None and defn.id in ("phq-9", "gad-7") and isinstance(every, int):
            found[defn.id] = min(every, found.get(defn.id, every), 28)
    return found


def _course(i: int, pi: PatientInputs, now: datetime) -> str:
    assert pi.treatment_start is not None
    verdict = judge(pi.facts).verdict
    weeks = (now - pi.treatment_start).days / 7
    if verdict == "inadequate":
        return "non_adherent"
    if weeks < 5:
        return "early_non_improver"
    if weeks < 10:
        return ("responder", "remitter")[i % 2]
    return RESPONDING[i % 3]


def _level(course: str, weeks: float) -> float:
    """The fraction of the baseline score at `weeks` into treatment."""
    progress = min(1.0, weeks / 8)
    return {
        "responder": 1 - 0.6 * progress,
        "remitter": 1 - 0.85 * progress,
        "non_responder": 1 - 0.25 * min(1.0, weeks / 6),
        "early_non_improver": 1 - 0.03 * weeks,
        "non_adherent": 1 - 0.01 * weeks,
    }[course]


def _trajectory(
    ctx: DemoContext,
    patient: Patient,
    instrument: str,
    every: int,
    start: datetime,
    course: str,
    now: datetime,
    rng: random.Random,
) -> int:
    defn = definitions.get(instrument)
    baseline = rng.randint(15, 20) if instrument == "phq-9" else rng.randint(11, 16)
    at = start - timedelta(days=3, hours=-2)
    n = 0
    while at <= now - timedelta(hours=1):
        weeks = max(0.0, (at - start).days / 7)
        total = round(baseline * _level(course, weeks)) + (rng.choice((-1, 0, 0, 1)) if n else 0)
        total = max(0, min(total, baseline + 2))
        do_record_response(
            patient,
            instrument=instrument,
            answers=_answers(defn, total, lagging=SLEEP if weeks < 6 else None),
            administered_by=AdministeredBy.PATIENT,
            source=Source.PORTAL,
            idempotency_key=f"{KEY}-{patient.pk}-{instrument}-{n}",
            acting_user=patient.portal_user,
            role="patient",
            authored_at=at,
            now=at + timedelta(minutes=4),
        )
        n += 1
        at += timedelta(days=every)
    return n


def _answers(defn: Any, total: int, *, lagging: str | None) -> dict[str, str]:
    """Option codes adding up to `total`; the last item (PHQ-9 item 9) stays 0, and a lagging
    item (sleep) is filled first so that it stays high while the rest improve."""
    links = list(defn.scoring.items)
    if defn.id == "phq-9":
        links = links[:-1]
    if lagging in links:
        links.remove(lagging)
        links.insert(0, lagging)
    values = dict.fromkeys(defn.scoring.items, 0)
    left = total
    # Spread evenly, then top up from the front (lagging item first), 3 at most per item.
    for link in links:
        values[link] = min(3, left // len(links))
    left -= sum(values.values())
    for link in links:
        add = min(3 - values[link], left)
        values[link] += add
        left -= add
    codes = {}
    for link, value in values.items():
        item = defn.item(link)
        codes[link] = next(o.code for o in defn.options(item) if o.value == value)
    return codes
