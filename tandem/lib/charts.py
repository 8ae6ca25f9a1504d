"""Charts as geometry: one definition, drawn by one SVG template (templates/charts/chart.svg)
in pages and, later, in PDFs. No JavaScript, nothing from a CDN, and every chart carries a
title, a description and the numbers as a table for screen readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

PALETTE = ["#1f5f8b", "#b5561c", "#3f7f3a", "#7a3f8f", "#8a6d00", "#2f6f6f"]


@dataclass(frozen=True)
class Path:
    d: str
    color: str
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    color: str
    text: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    text: str
    color: str


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Chart:
    title: str
    description: str
    width: int = 640
    height: int = 220
    left: int = 48
    right: int = 12
    top: int = 16
    bottom: int = 32
    paths: list[Path] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    @property
    def empty(self) -> bool:
        return not (self.paths or self.bars or self.markers)


@dataclass(frozen=True)
class StepSeries:
    """A value that holds until it changes (a daily dose): (day, value) points, sorted."""

    label: str
    points: list[tuple[date, float]]
    markers: list[tuple[date, float, str]] = field(default_factory=list)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 2.5, 5, 10, 20, 25, 50, 100, 150, 200, 250, 300, 400, 500, 1000, 2000, 5000):
        if value <= step:
            return float(step)
    return value


def step_chart(series: list[StepSeries], start: date, end: date, *, title: str, unit: str) -> Chart:
    chart = Chart(title=title, description=f"{title} from {start:%d %b %Y} to {end:%d %b %Y}, in {unit}.")
    span = max(1, (end - start).days)
    top = _nice_max(max((v for s in series for _, v in s.points), default=0))
    width = chart.plot_right - chart.left
    height = chart.plot_bottom - chart.top

    def x(day: date) -> float:
        return round(chart.left + width * min(max((day - start).days, 0), span) / span, 1)

    def y(value: float) -> float:
        return round(chart.plot_bottom - height * value / top, 1)

    for n, s in enumerate(series):
        color = PALETTE[n % len(PALETTE)]
        if not s.points:
            continue
        parts = [f"M{x(max(s.points[0][0], start))},{y(s.points[0][1])}"]
        for (day, value), (_, previous) in zip(s.points[1:], s.points, strict=False):
            parts.append(f"H{x(day)}V{y(value)}")
            del previous
        parts.append(f"H{x(end)}")
        chart.paths.append(Path(" ".join(parts), color, s.label))
        chart.legend.append((color, s.label))
        for day, value, text in s.markers:
            if start <= day <= end:
                chart.markers.append(Marker(x(day), y(value), color, f"{day:%d %b}: {text}"))
        for day, value in s.points:
            chart.table_rows.append([s.label, f"{day:%Y-%m-%d}", f"{value:g} {unit}"])
    chart.table_head = ["Medication", "From", "Daily dose"]
    for i in range(5):
        day = start + timedelta(days=round(span * i / 4))
        anchor = {0: "start", 4: "end"}.get(i, "middle")
        chart.x_ticks.append(Tick(x(day), chart.plot_bottom + 18, f"{day:%d %b}", anchor))
    for i in range(3):
        value = top * i / 2
        chart.y_ticks.append(Tick(chart.left - 6, y(value) + 4, f"{value:g}"))
    return chart


def bar_chart(values: list[tuple[str, float | None, str]], *, title: str, description: str) -> Chart:
    """Bars of a fraction 0–1 (None: nothing to show that period), e.g. doses taken per week."""
    chart = Chart(title=title, description=description, height=180)
    width = chart.plot_right - chart.left
    height = chart.plot_bottom - chart.top
    slot = width / max(1, len(values))
    for i, (label, fraction, text) in enumerate(values):
        bar_h = height * (fraction or 0)
        color = "#3f7f3a" if (fraction or 0) >= 0.8 else "#b5561c"
        chart.bars.append(
            Bar(
                round(chart.left + slot * i + slot * 0.15, 1),
                round(chart.plot_bottom - bar_h, 1),
                round(slot * 0.7, 1),
                round(bar_h, 1),
                label,
                text,
                color,
            )
        )
        chart.x_ticks.append(Tick(round(chart.left + slot * (i + 0.5), 1), chart.plot_bottom + 18, label))
        chart.table_rows.append([label, text])
    chart.table_head = ["Week", "Doses taken"]
    for fraction in (0, 0.5, 1):
        chart.y_ticks.append(
            Tick(chart.left - 6, round(chart.plot_bottom - height * fraction + 4, 1), f"{fraction:.0%}")
        )
    return chart
