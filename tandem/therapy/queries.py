"""Reads of sessions shared by views, actions, jobs and other apps (feedback, measures).

Each function answers with a fixed number of queries whatever the number of sessions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tandem.patients.models import Patient
from tandem.therapy.models import Session, SessionKind, SessionStatus
from tandem.therapy.rules import Attendance, attendance

# The longest a session may last (Session.duration_minutes): how far back a clash may start.
LONGEST_SESSION = timedelta(minutes=480)


@dataclass(frozen=True)
class AttendanceSummary:
    """A patient's attendance over the course: all sessions and per kind (rules.Attendance)."""

    overall: Attendance
    by_kind: dict[str, Attendance]

    def of(self, kind: str) -> Attendance:
        return self.by_kind.get(kind, Attendance())

    @property
    def rows(self) -> list[tuple[str, Attendance]]:
        """(label, attendance) of each kind with sessions, then "All sessions" when both have some."""
        rows = [(label, self.by_kind[kind]) for kind, label in SessionKind.choices if kind in self.by_kind]
        if len(rows) > 1:
            rows.append(("All sessions", self.overall))
        return rows


def attendance_summary(patient: Patient | int, now: datetime | None = None) -> AttendanceSummary:
    """The patient's attendance as of `now` (one query)."""
    now = now or timezone.now()
    patient_id = patient if isinstance(patient, int) else patient.pk
    grouped = (
        Session.objects.filter(patient_id=patient_id)
        .order_by()
        .values("kind", "status")
        .annotate(total=Count("id"), past=Count("id", filter=Q(starts_at__lte=now)))
    )
    by_kind: dict[str, Attendance] = {}
    for row in grouped:
        pairs = [(row["status"], True)] * row["past"] + [(row["status"], False)] * (
            row["total"] - row["past"]
        )
        by_kind[row["kind"]] = by_kind.get(row["kind"], Attendance()) + attendance(pairs)
    overall = sum(by_kind.values(), Attendance())
    return AttendanceSummary(overall=overall, by_kind=by_kind)


def sessions_between(
    patient: Patient | int, start: datetime, end: datetime, *, kinds: Iterable[str] | None = None
) -> list[Session]:
    """The patient's sessions starting in [start, end), any status, oldest first, with their
    clinician (one query)."""
    patient_id = patient if isinstance(patient, int) else patient.pk
    rows = Session.objects.filter(patient_id=patient_id, starts_at__gte=start, starts_at__lt=end)
    if kinds is not None:
        rows = rows.filter(kind__in=list(kinds))
    return list(rows.select_related("clinician").order_by("starts_at", "pk"))


def live() -> Q:
    """Sessions that still take (or took) the clinician's time: not cancelled."""
    return ~Q(status__in=[SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED])


@dataclass(frozen=True)
class Clash:
    starts_at: datetime
    ends_at: datetime
    wanted_start: datetime  # the new session it clashes with

    def key(self) -> str:
        return f"{int(self.starts_at.timestamp())}-{int(self.ends_at.timestamp())}"


def clashes(
    clinician_id: int,
    intervals: list[tuple[datetime, datetime]],
    *,
    exclude: Iterable[int] = (),
) -> list[Clash]:
    """The clinician's live sessions (any patient) that overlap any of `intervals` (one query).
    Sessions that only touch (one ends as the other starts) do not clash. Only times are
    returned: a clash must never reveal whose session it is."""
    if not intervals:
        return []
    first = min(s for s, _ in intervals)
    last = max(e for _, e in intervals)
    rows = (
        Session.objects.filter(live(), clinician_id=clinician_id)
        .filter(starts_at__lt=last, starts_at__gt=first - LONGEST_SESSION)
        .exclude(pk__in=list(exclude))
        .values_list("starts_at", "duration_minutes")
        .order_by("starts_at")
    )
    found: list[Clash] = []
    for starts_at, minutes in rows:
        ends_at = starts_at + timedelta(minutes=minutes)
        for start, end in intervals:
            if starts_at < end and start < ends_at:
                found.append(Clash(starts_at, ends_at, start))
                break
    return found


def scheduled_from(patient: Patient, now: datetime) -> QuerySet[Session]:
    return Session.objects.filter(patient=patient, starts_at__gte=now, status=SessionStatus.SCHEDULED)
