"""Feedback charts, as chart definitions of tandem.lib.charts (drawn by templates/charts/chart.svg,
with the numbers as a table for screen readers):

- `checkin_chart(patient, start, end)`: mood, anxiety and hours slept by day, with the visits of
  the period marked attended or missed — for the check-in pages and the therapy overview;
- `pair_chart(rows, …)`: the four visit-feedback ratings over one clinician-patient pair's visits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from tandem.feedback.instrument import RATING_IDS, visit_feedback
from tandem.feedback.models import CheckIn, VisitFeedback
from tandem.lib.charts import PALETTE, Chart, Marker, Path, Tick
from tandem.lib.timezones import day_bounds, local_date
from tandem.patients.models import Patient
from tandem.therapy.models import Session, SessionKind, SessionStatus

# Visits are drawn in colours no data line uses (the lines take the palette's first three).
ATTENDED_COLOR = "#7a3f8f"
MISSED_COLOR = "#8a6d00"
MISSED = (SessionStatus.NO_SHOW, SessionStatus.LATE_CANCELLED)
CHECKIN_WEEKS = 8


@dataclass(frozen=True)
class LineSeries:
    label: str
    points: list[tuple[date, float]]  # sorted by day


@dataclass(frozen=True)
class DayMark:
    """A thing that happened on a day, drawn on the x axis (a visit)."""

    day: date
    text: str
    color: str


@dataclass
class _Frame:
    chart: Chart
    start: date
    end: date
    top: float
    span: int = field(init=False)

    def __post_init__(self) -> None:
        self.span = max(1, (self.end - self.start).days)

    def x(self, day: date) -> float:
        width = self.chart.plot_right - self.chart.left
        offset = min(max((day - self.start).days, 0), self.span)
        return round(self.chart.left + width * offset / self.span, 1)

    def y(self, value: float) -> float:
        height = self.chart.plot_bottom - self.chart.top
        return round(self.chart.plot_bottom - height * min(value, self.top) / self.top, 1)


def line_chart(
    series: Sequence[LineSeries],
    start: date,
    end: date,
    *,
    title: str,
    description: str,
    top: float,
    y_steps: int = 2,
    marks: Sequence[DayMark] = (),
    colors: Sequence[str] = PALETTE,
    width: int = 640,
) -> Chart:
    """Lines through daily points (a dot on each, titled with its value) on a 0–`top` axis, and
    day marks on the x axis. The caller fills the chart's table."""
    chart = Chart(title=title, description=description, width=width, height=220 if width >= 480 else 240)
    frame = _Frame(chart, start, end, top)
    for n, s in enumerate(series):
        color = colors[n % len(colors)]
        points = [(d, v) for d, v in s.points if start <= d <= end]
        chart.legend.append((color, s.label))
        if not points:
            continue
        d = " ".join(
            ("M" if i == 0 else "L") + f"{frame.x(day)},{frame.y(v)}" for i, (day, v) in enumerate(points)
        )
        chart.paths.append(Path(d, color, s.label))
        for day, value in points:
            chart.markers.append(
                Marker(frame.x(day), frame.y(value), color, f"{day:%d %b}: {s.label} {value:g}")
            )
    for mark in marks:  # a line up the plot, behind the data, and a dot on the axis
        if start <= mark.day <= end:
            chart.paths.insert(
                0, Path(f"M{frame.x(mark.day)},{chart.plot_bottom}V{chart.top}", mark.color, mark.text)
            )
            chart.markers.append(
                Marker(frame.x(mark.day), chart.plot_bottom, mark.color, f"{mark.day:%d %b}: {mark.text}")
            )
    for i in range(5):
        day = start + timedelta(days=round(frame.span * i / 4))
        anchor = {0: "start", 4: "end"}.get(i, "middle")
        chart.x_ticks.append(Tick(frame.x(day), chart.plot_bottom + 18, f"{day:%d %b}", anchor))
    for i in range(y_steps + 1):
        value = top * i / y_steps
        chart.y_ticks.append(Tick(chart.left - 6, frame.y(value) + 4, f"{value:g}"))
    return chart


def _visit_text(session: Session) -> str:
    kind = "Therapy session" if session.kind == SessionKind.THERAPY else "Medication visit"
    return f"{kind} {session.get_status_display().lower()}"


def checkin_chart(patient: Patient, start: date, end: date, *, width: int = 640) -> Chart:
    """Mood and anxiety (0–10) and hours slept, by the patient's local day from `start` to `end`
    (inclusive), with the period's visits marked attended or missed. Two queries. A `width`
    of 360 draws it for a phone (larger text relative to the plot)."""
    checkins = list(
        CheckIn.objects.filter(patient=patient, day__gte=start, day__lte=end)
        .order_by("day")
        .only("day", "mood", "anxiety", "sleep_hours")
    )
    first, _ = day_bounds(start, patient.time_zone)
    _, last = day_bounds(end, patient.time_zone)
    sessions = list(
        Session.objects.filter(
            patient=patient,
            starts_at__gte=first,
            starts_at__lt=last,
            status__in=[SessionStatus.ATTENDED, *MISSED],
        )
        .order_by("starts_at")
        .only("starts_at", "kind", "status")
    )
    mood = LineSeries(
        "Mood (0–10, higher is better)", [(c.day, c.mood) for c in checkins if c.mood is not None]
    )
    anxiety = LineSeries(
        "Anxiety (0–10, higher is worse)", [(c.day, c.anxiety) for c in checkins if c.anxiety is not None]
    )
    sleep = LineSeries(
        "Sleep (hours)", [(c.day, float(c.sleep_hours)) for c in checkins if c.sleep_hours is not None]
    )
    most_sleep = max((v for _, v in sleep.points), default=0.0)
    top = 12.0 if most_sleep <= 12 else 24.0
    marks = []
    visits: dict[date, list[str]] = {}
    for s in sessions:
        day = local_date(s.starts_at, patient.tz)
        text = _visit_text(s)
        marks.append(
            DayMark(day, text, ATTENDED_COLOR if s.status == SessionStatus.ATTENDED else MISSED_COLOR)
        )
        visits.setdefault(day, []).append(text)
    chart = line_chart(
        [mood, anxiety, sleep],
        start,
        end,
        title="Check-ins: mood, anxiety and sleep",
        description=(
            f"Daily check-ins from {start:%d %b %Y} to {end:%d %b %Y}: mood and anxiety from 0 to 10 and "
            f"hours slept, on one scale from 0 to {top:g}. Visits are marked on the time axis: "
            f"purple attended, dark yellow missed. {len(checkins)} check-ins, {len(sessions)} visits."
        ),
        top=top,
        y_steps=4,
        marks=marks,
        width=width,
    )
    chart.legend += [(ATTENDED_COLOR, "Visit attended"), (MISSED_COLOR, "Visit missed")]
    by_day = {c.day: c for c in checkins}
    chart.table_head = ["Day", "Mood", "Anxiety", "Sleep (hours)", "Visit"]
    for day in sorted(set(by_day) | set(visits)):
        c = by_day.get(day)
        chart.table_rows.append(
            [
                f"{day:%Y-%m-%d}",
                _fmt(c.mood if c else None),
                _fmt(c.anxiety if c else None),
                _fmt(c.sleep_hours if c else None),
                "; ".join(visits.get(day, [])) or "—",
            ]
        )
    return chart


def checkin_period(today: date, weeks: int = CHECKIN_WEEKS) -> tuple[date, date]:
    return today - timedelta(weeks=weeks) + timedelta(days=1), today


def _fmt(value: int | Decimal | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, Decimal) else str(value)


def pair_chart(rows: Sequence[VisitFeedback], tz: str, clinician_name: str) -> Chart:
    """The four ratings over the given feedback of one clinician-patient pair (any order)."""
    rows = sorted(rows, key=lambda r: r.visit_at)
    instrument = visit_feedback()
    days = [local_date(r.visit_at, tz) for r in rows]
    start = min(days) if days else date.today()  # noqa: DTZ011 (never drawn: an empty pair has no chart)
    end = max(days) if days else start
    if end - start < timedelta(days=7):
        start, end = end - timedelta(days=7), end
    series = [
        LineSeries(
            instrument.item(name).short,
            [
                (day, float(getattr(r, name)))
                for day, r in zip(days, rows, strict=True)
                if getattr(r, name) is not None
            ],
        )
        for name in RATING_IDS
    ]
    chart = line_chart(
        series,
        start,
        end,
        title=f"Visit feedback on {clinician_name}'s visits",
        description=(
            f"The patient's four ratings (0–10, higher is better) after each of {len(rows)} visits "
            f"from {start:%d %b %Y} to {end:%d %b %Y}."
        ),
        top=10,
    )
    chart.table_head = ["Visit", *(instrument.item(n).short for n in RATING_IDS)]
    for day, r in zip(days, rows, strict=True):
        chart.table_rows.append([f"{day:%Y-%m-%d}", *(_fmt(getattr(r, n)) for n in RATING_IDS)])
    return chart
