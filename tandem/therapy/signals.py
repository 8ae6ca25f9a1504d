"""Attendance signals, evaluated on every status change of a session (tandem.therapy.actions).

Two conditions raise an alert of kind "attendance", each citing its rule (rules.SOURCES):

- `sessions.no_shows_in_a_row` (high): the patient's last NO_SHOWS_IN_A_ROW (2) recorded
  sessions that were not cancelled in good time are no-shows (rules.no_shows_in_a_row). Routed
  to the therapist and the care manager, and to the prescriber when a medication visit is among
  them.
- `sessions.attendance_below_75` (routine): attendance (rules.Attendance.rate) below 75 % once at
  least 4 sessions count. Routed to the therapist and the care manager (and the prescriber when
  the patient has medication visits that count).

Evaluating again changes nothing while the condition's alert is open (one open alert per
(patient, dedup_key), collab.Alert). Once a clinician resolves it, the same condition is raised
again only on new evidence: outcomes recorded after the resolution (a fresh run of no-shows; a
further missed session while attendance is still low).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from tandem.accounts.models import Role
from tandem.collab.actions import do_raise_alert
from tandem.collab.models import Alert, AlertStatus, Severity
from tandem.patients.models import Patient
from tandem.therapy import rules
from tandem.therapy.models import Session, SessionKind, SessionStatus

ALERT_KIND = "attendance"
RULE_NO_SHOWS = "sessions.no_shows_in_a_row"
RULE_ATTENDANCE = "sessions.attendance_below_75"
KEY_NO_SHOWS = "sessions:no_shows"
KEY_ATTENDANCE = "sessions:attendance"
BASE_ROUTE: list[str] = [Role.THERAPIST, Role.CARE_MANAGER]


@dataclass
class SignalRun:
    raised: int = 0
    open_already: int = 0


@dataclass(frozen=True)
class _Row:
    pk: int
    kind: str
    status: str
    starts_at: datetime
    changed_at: datetime | None


def _route(kinds: set[str]) -> list[str]:
    return BASE_ROUTE + ([str(Role.PRESCRIBER)] if SessionKind.MEDICATION in kinds else [])


def evaluate_patient(patient: Patient, now: datetime | None = None) -> SignalRun:
    """Evaluate the patient's attendance signals as of `now` (two queries, then the alerts)."""
    now = now or timezone.now()
    run = SignalRun()
    rows = [
        _Row(*values)
        for values in Session.objects.filter(patient=patient)
        .filter(Q(starts_at__lte=now) | Q(status=SessionStatus.LATE_CANCELLED))
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("starts_at", "pk")
        .values_list("pk", "kind", "status", "starts_at", "status_changed_at")
    ]
    states = {
        row["dedup_key"]: (row["open"] > 0, row["last_resolved"])
        for row in Alert.objects.filter(patient=patient, kind=ALERT_KIND)
        .order_by()
        .values("dedup_key")
        .annotate(open=Count("id", filter=~Q(status=AlertStatus.RESOLVED)), last_resolved=Max("resolved_at"))
    }
    _check_no_shows(patient, rows, states.get(KEY_NO_SHOWS), run)
    _check_attendance(patient, rows, states.get(KEY_ATTENDANCE), now, run)
    return run


def _after(rows: list[_Row], since: datetime | None) -> list[_Row]:
    if since is None:
        return rows
    return [r for r in rows if r.changed_at is not None and r.changed_at > since]


def _when(row: _Row, patient: Patient) -> str:
    local = timezone.localtime(row.starts_at, patient.tz)
    return f"{SessionKind(row.kind).label.lower()} on {local:%a %d %b %Y %H:%M}"


def _check_no_shows(
    patient: Patient, rows: list[_Row], state: tuple[bool, datetime | None] | None, run: SignalRun
) -> None:
    if state is not None and state[0]:
        run.open_already += 1
        return
    recorded = [r for r in _after(rows, state[1] if state else None) if r.status in rules.COUNTABLE]
    count = rules.no_shows_in_a_row([r.status for r in recorded])
    if count < rules.NO_SHOWS_IN_A_ROW:
        return
    streak = recorded[-count:]
    _raise(
        patient,
        run,
        severity=Severity.HIGH,
        title=f"{count} missed sessions in a row",
        reason=(
            f"The last {count} recorded sessions were missed without notice (no-show): "
            f"{'; '.join(_when(r, patient) for r in streak)} ({patient.time_zone}). "
            f"{rules.NO_SHOWS_IN_A_ROW} no-shows in a row raise this alert; sessions cancelled in good "
            "time neither continue nor end a run. Reach out to the patient: missed sessions often come "
            "before dropping out of care."
        ),
        rule_id=RULE_NO_SHOWS,
        source=rules.SOURCES["no_shows"],
        dedup_key=KEY_NO_SHOWS,
        route_to=_route({r.kind for r in streak}),
        subject_id=streak[-1].pk,
    )


def _check_attendance(
    patient: Patient,
    rows: list[_Row],
    state: tuple[bool, datetime | None] | None,
    now: datetime,
    run: SignalRun,
) -> None:
    if state is not None and state[0]:
        run.open_already += 1
        return
    summary = rules.attendance((r.status, r.starts_at <= now) for r in rows)
    if not rules.attendance_below_threshold(summary):
        return
    since = state[1] if state else None
    if since is not None and not any(
        r.status in (SessionStatus.NO_SHOW, SessionStatus.LATE_CANCELLED) for r in _after(rows, since)
    ):
        return  # resolved, and nothing missed since
    threshold = round(rules.ATTENDANCE_THRESHOLD * 100)
    _raise(
        patient,
        run,
        severity=Severity.ROUTINE,
        title=f"Session attendance below {threshold} %",
        reason=(
            f"Attendance over the course: {summary.percent} % — {summary.attended} attended of "
            f"{summary.countable} sessions that took place or were missed ({summary.no_show} no-show, "
            f"{summary.late_cancelled} cancelled less than 24 hours ahead). Below {threshold} % once at "
            f"least {rules.ATTENDANCE_MIN_COUNTABLE} sessions count raises this alert; cancellations in good "
            "time do not count against the patient."
        ),
        rule_id=RULE_ATTENDANCE,
        source=rules.SOURCES["attendance"],
        dedup_key=KEY_ATTENDANCE,
        route_to=_route({r.kind for r in rows if r.status in rules.COUNTABLE}),
        subject_id=None,
    )


def _raise(
    patient: Patient,
    run: SignalRun,
    *,
    severity: str,
    title: str,
    reason: str,
    rule_id: str,
    source: str,
    dedup_key: str,
    route_to: list[str],
    subject_id: int | None,
) -> None:
    subject = Session(pk=subject_id) if subject_id is not None else None
    with transaction.atomic():
        _, created = do_raise_alert(
            patient,
            kind=ALERT_KIND,
            severity=severity,
            title=title,
            reason=reason,
            rule_id=rule_id,
            source=source,
            dedup_key=dedup_key,
            route_to=[str(r) for r in route_to],
            subject=subject,
            link=reverse("therapy:overview", kwargs={"patient_id": patient.pk}),
        )
    if created:
        run.raised += 1
    else:
        run.open_already += 1
