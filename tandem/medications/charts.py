"""The medication charts (dose over time with its changes, doses taken by week), as chart
definitions of tandem.lib.charts, reused by the measures trends and PDF reports."""

from __future__ import annotations

from datetime import date, timedelta

from tandem.lib.charts import Chart, StepSeries, bar_chart, step_chart
from tandem.lib.timezones import local_date
from tandem.medications.adherence import DoseAdherence
from tandem.medications.models import Regimen, RegimenStatus, RegimenVersion


def dose_chart(
    regimens: list[Regimen], versions: list[RegimenVersion], tz: str, start: date, end: date
) -> Chart:
    by_regimen: dict[int, list[RegimenVersion]] = {}
    for version in versions:
        by_regimen.setdefault(version.regimen_id, []).append(version)
    series = []
    for regimen in regimens:
        points: list[tuple[date, float]] = []
        markers: list[tuple[date, float, str]] = []
        for version in sorted(by_regimen.get(regimen.pk, []), key=lambda v: v.effective_at):
            day = local_date(version.effective_at, tz)
            amount = float(version.daily_amount) if version.status == RegimenStatus.ACTIVE else 0.0
            points.append((day, amount))
            markers.append((day, amount, f"{version.get_kind_display()} — {version.reason}"))
        if points and (points[-1][0] >= start or points[-1][1] > 0):
            series.append(StepSeries(regimen.drug_name, points, markers))
    return step_chart(series, start, end, title="Daily dose over time", unit="mg a day")


def weekly_adherence_chart(result: DoseAdherence, weeks: int, today: date) -> Chart:
    values: list[tuple[str, float | None, str]] = []
    for back in range(weeks - 1, -1, -1):
        year, week, _ = (today - timedelta(weeks=back)).isocalendar()
        counts = result.by_week.get((year, week))
        if counts is None or not counts.scheduled:
            values.append((f"W{week}", None, "no doses due"))
        else:
            taken = counts.taken + counts.taken_late
            values.append((f"W{week}", taken / counts.scheduled, f"{taken} of {counts.scheduled}"))
    return bar_chart(
        values,
        title="Doses taken by week",
        description=f"Share of scheduled doses recorded as taken, each of the last {weeks} weeks.",
    )
