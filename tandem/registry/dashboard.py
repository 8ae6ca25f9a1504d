"""The organisation's collaborative-care figures, as aggregate SQL over the whole population.

Population: the organisation's active patients with an active care team (in the programme).

- Counts by status: the stored PHQ-9 treat-to-target state of each patient (tandem.measures
  signals), plus those with no PHQ-9 yet.
- % in remission and % with ≥ 50 % improvement: of the patients whose PHQ-9 can be judged — a
  baseline at or above the remission threshold and a later score (states other than no scores,
  baseline only, started below the threshold).
- % followed up within 4 weeks of starting: of the patients enrolled at least 4 weeks ago, those
  with an attended session or a care-time contact (see caseload.CONTACT_ACTIVITIES) on a day
  after enrolment and no later than 28 days after it (sessions: by their UTC day, so a session
  within a few hours of a window edge may fall on the neighbouring day).

A handful of queries whatever the population: each figure is a COUNT with a filter, the
follow-up test an EXISTS per patient evaluated by the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, DateField, DateTimeField, Exists, Func, Min, OuterRef, Q, Subquery

from tandem.caretime.models import TimeEntry
from tandem.measures.models import TreatmentSignal
from tandem.measures.signals.rules import STATE_LABELS
from tandem.patients.models import CareTeamMember, Patient, active_on
from tandem.registry.caseload import CONTACT_ACTIVITIES, RESPONSE_PERCENT
from tandem.therapy.models import Session, SessionStatus

FOLLOW_UP_DAYS = 28
NOT_JUDGED = ("no_data", "baseline_only", "below_threshold")


@dataclass(frozen=True)
class Figures:
    patients: int
    by_status: list[tuple[str, str, int]]  # (state, label, count), worst first
    no_phq9: int
    judged: int
    remission: int
    improved: int
    follow_up_eligible: int
    followed_up: int

    @staticmethod
    def _pct(part: int, whole: int) -> int | None:
        return round(100 * part / whole) if whole else None

    @property
    def remission_percent(self) -> int | None:
        return self._pct(self.remission, self.judged)

    @property
    def improved_percent(self) -> int | None:
        return self._pct(self.improved, self.judged)

    @property
    def followed_up_percent(self) -> int | None:
        return self._pct(self.followed_up, self.follow_up_eligible)


class _PlusDays(Func):
    """A date plus a whole number of days, as a date, in SQLite and PostgreSQL."""

    output_field = DateField()

    def __init__(self, expression: Any, days: int) -> None:
        self.days = int(days)
        super().__init__(expression)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template=f"date(%(expressions)s, '+{self.days} days')")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template=f"((%(expressions)s) + {self.days})")


class _DayStart(Func):
    """Midnight UTC starting the day `days` after a date, as a timestamp: compared with an
    indexed timestamp column directly (casting every session's start to a date is far slower)."""

    output_field = DateTimeField()

    def __init__(self, expression: Any, days: int) -> None:
        self.days = int(days)
        super().__init__(expression)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template=f"datetime(%(expressions)s, '+{self.days} days')")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template=f"(((%(expressions)s) + {self.days})::timestamp AT TIME ZONE 'UTC')",
        )


def _plus_days(expression: Any, days: int) -> _PlusDays:
    return _PlusDays(expression, days)


def figures(organisation_id: int, today: date) -> Figures:
    enrolment = (
        CareTeamMember.objects.filter(active_on(today), patient=OuterRef("pk"))
        .order_by()
        .values("patient")
        .annotate(first=Min("start"))
        .values("first")
    )
    population = (
        Patient.objects.filter(organisation_id=organisation_id, is_active=True)
        .annotate(enrolled=Subquery(enrolment))
        .filter(enrolled__isnull=False)
    )
    total = population.count()

    signals = TreatmentSignal.objects.filter(
        instrument="phq-9", patient__in=population.values("pk")
    ).order_by()
    counts = dict(signals.values("state").annotate(n=Count("id")).values_list("state", "n"))
    judged = signals.exclude(state__in=NOT_JUDGED).aggregate(
        judged=Count("id"),
        remission=Count("id", filter=Q(state="remission")),
        improved=Count("id", filter=Q(improvement_percent__gte=RESPONSE_PERCENT)),
    )
    by_status = [(s, label, counts[s]) for s, label in STATE_LABELS.items() if counts.get(s)]

    # Follow-up: compare against a per-row window bound computed by the database from the
    # enrolment day, as whole dates, so that SQLite and PostgreSQL agree.
    cutoff = today - timedelta(days=FOLLOW_UP_DAYS)
    eligible = population.filter(enrolled__lte=cutoff)
    attended = Session.objects.filter(
        patient=OuterRef("pk"),
        status=SessionStatus.ATTENDED,
        starts_at__gte=OuterRef("window_from"),
        starts_at__lt=OuterRef("window_to"),
    )
    contacted = TimeEntry.objects.filter(
        patient=OuterRef("pk"),
        activity__in=CONTACT_ACTIVITIES,
        day__gt=OuterRef("enrolled"),
        day__lte=OuterRef("window_end"),
    )
    window_end = (
        CareTeamMember.objects.filter(active_on(today), patient=OuterRef("pk"))
        .order_by("start")
        .values("start")[:1]
    )
    follow = (
        eligible.annotate(
            window_end=_plus_days(Subquery(window_end), FOLLOW_UP_DAYS),
            window_from=_DayStart(Subquery(window_end), 1),
            window_to=_DayStart(Subquery(window_end), FOLLOW_UP_DAYS + 1),
        )
        .annotate(seen=Exists(attended) | Exists(contacted))
        .aggregate(eligible=Count("pk"), followed=Count("pk", filter=Q(seen=True)))
    )
    return Figures(
        patients=total,
        by_status=by_status,
        no_phq9=total - sum(counts.values()),
        judged=judged["judged"],
        remission=judged["remission"],
        improved=judged["improved"],
        follow_up_eligible=follow["eligible"],
        followed_up=follow["followed"],
    )
