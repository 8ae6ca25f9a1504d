"""The caseload registry's rows: every column for a set of patients in a fixed number of queries.

Definitions (shown on the page too, see DEFINITIONS):

- Enrolled: the earliest start of the patient's current care-team memberships — when the patient
  joined the programme. Weeks in treatment count whole weeks from it to the patient's today.
- Baseline, last score and % change of the PHQ-9 and GAD-7: the baseline is the measures app's
  (tandem.measures.signals.rules.baseline_index: the last score on or before the start of
  treatment, or the first one); % change = (last − baseline) / baseline, negative is better.
- Trend: the last two scores: ↓ lower (better), ↑ higher (worse), → the same.
- State: the stored treat-to-target state of the PHQ-9 (of the GAD-7 when there is no PHQ-9).
- Last contact: the latest of an attended session (therapy or medication visit), a care-time
  entry with the patient (assessment, follow-up, brief intervention, measurement,
  relapse prevention) and a message in a thread shared with the patient — the patient's local day.
- Next contact due: the next scheduled session; without one, 14 days after the last contact
  (or after enrolment when there has been none).
- Dose adherence: doses taken (on time or late) of those scheduled over the last 28 days; PDC:
  the lowest PQA proportion of days covered among the patient's medication classes (180 days).
- Attendance: attended of attended + no-show + late-cancelled therapy sessions.
- Open alerts: open or acknowledged, not yet resolved. Safety flag: an open safety flag.
- Treat-to-target: a "not improving" state of either instrument (deterioration, needs case
  review, early non-improvement), else the adequacy verdict when treatment is not adequate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q

from tandem.accounts.models import Role
from tandem.caretime.models import Activity, TimeEntry
from tandem.collab.models import Alert, AlertStatus
from tandem.handoffs.models import Audience, Message
from tandem.lib.timezones import local_date
from tandem.measures.models import TreatmentSignal
from tandem.measures.signals.adequacy import RULES
from tandem.measures.signals.inputs import gather
from tandem.measures.signals.rules import NOT_IMPROVING, STATE_LABELS, Score, baseline_index
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.safety.models import FlagStatus, SafetyFlag
from tandem.therapy.models import Session, SessionStatus

NEXT_CONTACT_DEFAULT_DAYS = 14
NO_CONTACT_DAYS = 30
NOT_IMPROVING_WEEKS = 10
NEW_PATIENT_DAYS = 28
RESPONSE_PERCENT = 50
CONTACT_ACTIVITIES = (
    Activity.ASSESSMENT,
    Activity.FOLLOW_UP,
    Activity.BRIEF_INTERVENTION,
    Activity.MEASUREMENT,
    Activity.RELAPSE_PREVENTION,
)
OPEN_ALERTS = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)

DEFINITIONS = (
    ("Weeks", "whole weeks since enrolment (the earliest start on the current care team)"),
    ("% change", "(last − baseline) ÷ baseline; negative is better; baseline as the measures page"),
    ("Trend", "the last two scores: ↓ lower, ↑ higher, → the same"),
    (
        "Last contact",
        "attended session, care-time entry with the patient (assessment, follow-up, brief "
        "intervention, measurement, relapse prevention) or a message in a thread with the patient",
    ),
    (
        "Next due",
        f"the next scheduled session, else {NEXT_CONTACT_DEFAULT_DAYS} days after the last contact "
        "(or enrolment)",
    ),
    ("Doses", "taken of scheduled over the last 28 days; PDC: lowest class, PQA, 180 days"),
    ("Attendance", "attended of attended + no-show + late-cancelled therapy sessions"),
)


@dataclass(frozen=True)
class Measure:
    baseline: int
    last: int
    previous: int | None  # the score before the last one
    count: int

    @property
    def change_percent(self) -> int | None:
        if self.count < 2 or self.baseline == 0:
            return None
        return round(100 * (self.last - self.baseline) / self.baseline)

    @property
    def trend(self) -> str:
        if self.previous is None:
            return ""
        if self.last < self.previous:
            return "↓"
        return "↑" if self.last > self.previous else "→"

    @property
    def trend_label(self) -> str:
        return {"↓": "lower than the score before", "↑": "higher than the score before"}.get(
            self.trend, "the same as the score before" if self.trend else "one score only"
        )


@dataclass
class Row:
    patient: Patient
    today: date
    enrolled: date | None = None
    team: list[tuple[int, str, str]] = field(default_factory=list)  # (user id, role, name)
    measures: dict[str, Measure] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    adequacy: str = ""
    last_contact: date | None = None
    next_session: date | None = None
    doses_taken: int | None = None
    doses_scheduled: int | None = None
    pdc: float | None = None
    pdc_label: str = ""
    attended: int = 0
    countable: int = 0
    open_alerts: int = 0
    safety_flag: bool = False

    @property
    def weeks(self) -> int | None:
        return (self.today - self.enrolled).days // 7 if self.enrolled else None

    @property
    def phq9(self) -> Measure | None:
        return self.measures.get("phq-9")

    @property
    def gad7(self) -> Measure | None:
        return self.measures.get("gad-7")

    @property
    def state(self) -> str:
        return self.states.get("phq-9") or self.states.get("gad-7") or ""

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def t2t(self) -> str:
        worst = [s for s in self.states.values() if s in NOT_IMPROVING]
        if worst:
            order = list(STATE_LABELS)
            return STATE_LABELS[min(worst, key=order.index)]
        if self.adequacy == "inadequate":
            return "Treatment not yet adequate"
        return ""

    @property
    def next_due(self) -> date | None:
        if self.next_session is not None:
            return self.next_session
        since = self.last_contact or self.enrolled
        return since + timedelta(days=NEXT_CONTACT_DEFAULT_DAYS) if since else None

    @property
    def next_due_basis(self) -> str:
        return "scheduled session" if self.next_session else f"{NEXT_CONTACT_DEFAULT_DAYS}-day default"

    @property
    def overdue(self) -> bool:
        due = self.next_due
        return due is not None and due < self.today

    @property
    def days_since_contact(self) -> int | None:
        return (self.today - self.last_contact).days if self.last_contact else None

    @property
    def dose_percent(self) -> int | None:
        if not self.doses_scheduled or self.doses_taken is None:
            return None
        return round(100 * self.doses_taken / self.doses_scheduled)

    @property
    def attendance_percent(self) -> int | None:
        return round(100 * self.attended / self.countable) if self.countable else None

    @property
    def pdc_percent(self) -> int | None:
        return round(100 * self.pdc) if self.pdc is not None else None

    # The filters (tandem/registry/filters.py) read these.
    @property
    def not_improving(self) -> bool:
        """At least 10 weeks in treatment with a PHQ-9 baseline and no ≥ 50 % fall since."""
        weeks, phq = self.weeks, self.phq9
        if weeks is None or weeks < NOT_IMPROVING_WEEKS or phq is None:
            return False
        change = phq.change_percent
        return change is None or change > -RESPONSE_PERCENT

    @property
    def no_recent_contact(self) -> bool:
        since = self.days_since_contact
        return since is None or since > NO_CONTACT_DAYS

    @property
    def is_new(self) -> bool:
        return self.enrolled is not None and (self.today - self.enrolled).days < NEW_PATIENT_DAYS

    @property
    def in_remission(self) -> bool:
        return self.states.get("phq-9") == "remission"


def _measure(scores: list[Score], treatment_start: datetime | None) -> Measure | None:
    if not scores:
        return None
    base = scores[baseline_index(scores, treatment_start)]
    return Measure(
        baseline=base.total,
        last=scores[-1].total,
        previous=scores[-2].total if len(scores) > 1 else None,
        count=len(scores) - scores.index(base),
    )


def build_rows(patients: list[Patient], now: datetime) -> list[Row]:
    """Every column for `patients` (already loaded) in a fixed number of queries."""
    if not patients:
        return []
    ids = [p.pk for p in patients]
    rows = {p.pk: Row(p, local_date(now, p.time_zone)) for p in patients}
    today = min(r.today for r in rows.values())

    for pid, start, user_id, role, name in (
        CareTeamMember.objects.filter(active_on(today), patient_id__in=ids)
        .order_by("patient_id", "role", "start")
        .values_list("patient_id", "start", "user_id", "role", "user__full_name")
    ):
        row = rows[pid]
        row.enrolled = start if row.enrolled is None else min(row.enrolled, start)
        row.team.append((user_id, role, name))

    inputs = gather(ids, now, RULES)
    for pid, pi in inputs.items():
        row = rows[pid]
        for instrument, scores in pi.scores.items():
            found = _measure(scores, pi.treatment_start)
            if found is not None:
                row.measures[instrument] = found
        facts = pi.facts
        row.doses_taken, row.doses_scheduled = facts.doses_taken, facts.doses_scheduled
        eligible = [c for c in facts.pdc if c.pdc is not None]
        if eligible:
            lowest = min(eligible, key=lambda c: c.pdc or 0.0)
            row.pdc, row.pdc_label = lowest.pdc, lowest.label
        row.attended, row.countable = facts.attended, facts.countable

    for pid, instrument, state, adequacy in TreatmentSignal.objects.filter(patient_id__in=ids).values_list(
        "patient_id", "instrument", "state", "adequacy"
    ):
        rows[pid].states[instrument] = state
        if instrument == "phq-9" or not rows[pid].adequacy:
            rows[pid].adequacy = adequacy

    for pid, count in (
        Alert.objects.filter(patient_id__in=ids, status__in=OPEN_ALERTS)
        .order_by()
        .values("patient_id")
        .annotate(n=Count("id"))
        .values_list("patient_id", "n")
    ):
        rows[pid].open_alerts = count
    for pid in SafetyFlag.objects.filter(patient_id__in=ids, status=FlagStatus.OPEN).values_list(
        "patient_id", flat=True
    ):
        rows[pid].safety_flag = True

    contacts: dict[int, list[date]] = defaultdict(list)
    for pid, last, upcoming in (
        Session.objects.filter(patient_id__in=ids)
        .order_by()
        .values("patient_id")
        .annotate(
            last=Max("starts_at", filter=Q(status=SessionStatus.ATTENDED, starts_at__lte=now)),
            upcoming=Min("starts_at", filter=Q(status=SessionStatus.SCHEDULED, starts_at__gt=now)),
        )
        .values_list("patient_id", "last", "upcoming")
    ):
        tz = rows[pid].patient.time_zone
        if last is not None:
            contacts[pid].append(local_date(last, tz))
        if upcoming is not None:
            rows[pid].next_session = local_date(upcoming, tz)
    for pid, day in (
        TimeEntry.objects.filter(patient_id__in=ids, activity__in=CONTACT_ACTIVITIES)
        .order_by()
        .values("patient_id")
        .annotate(last=Max("day"))
        .values_list("patient_id", "last")
    ):
        contacts[pid].append(day)
    for pid, at in (
        Message.objects.filter(
            thread__patient_id__in=ids, thread__audience=Audience.TEAM_PATIENT, created_at__lte=now
        )
        .order_by()
        .values("thread__patient_id")
        .annotate(last=Max("created_at"))
        .values_list("thread__patient_id", "last")
    ):
        contacts[pid].append(local_date(at, rows[pid].patient.time_zone))
    for pid, days in contacts.items():
        past = [d for d in days if d <= rows[pid].today]  # a care-time day is never in the future
        rows[pid].last_contact = max(past) if past else None
    return [rows[p.pk] for p in patients]


def team_label(row: Row) -> str:
    return "; ".join(f"{name} ({Role(role).label})" for _, role, name in row.team)


def as_dict(row: Row) -> dict[str, Any]:
    """The columns as plain values, for CSV."""
    phq, gad = row.phq9, row.gad7
    return {
        "patient": row.patient.sort_name,
        "mrn": row.patient.mrn,
        "weeks": row.weeks,
        "phq9_baseline": phq.baseline if phq else None,
        "phq9_last": phq.last if phq else None,
        "phq9_change": phq.change_percent if phq else None,
        "phq9_trend": phq.trend if phq else "",
        "gad7_baseline": gad.baseline if gad else None,
        "gad7_last": gad.last if gad else None,
        "gad7_change": gad.change_percent if gad else None,
        "gad7_trend": gad.trend if gad else "",
        "state": row.state_label if row.state else "",
        "last_contact": row.last_contact.isoformat() if row.last_contact else "",
        "next_due": row.next_due.isoformat() if row.next_due else "",
        "dose_adherence": row.dose_percent,
        "pdc": row.pdc_percent,
        "attendance": row.attendance_percent,
        "open_alerts": row.open_alerts,
        "safety_flag": "yes" if row.safety_flag else "",
        "treat_to_target": row.t2t,
        "team": team_label(row),
    }
