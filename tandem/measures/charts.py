"""The trend chart of one instrument, as geometry (tandem.lib.charts.Chart plus shaded bands,
horizontal reference lines and day marks): drawn by templates/measures/_trend_chart.svg in the
clinician and portal pages and by tandem/measures/pdf.py in the PDF — one definition for all three.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from tandem.lib.charts import Chart, Marker, Path, Tick

SCORE_COLOR = "#1f5f8b"
MEDICATION_COLOR = "#b5561c"
SESSION_COLOR = "#6b7785"
LINE_COLORS = {"target": "#2f6f6f", "response": "#7a3f8f", "remission": "#3f7f3a"}
# Band shading, mildest first; instruments with more bands reuse the last shade.
BAND_SHADES = ["#eef5ee", "#f7f6e4", "#fbf0dc", "#fbe6da", "#f8dddd", "#f4d4d4"]


@dataclass(frozen=True)
class BandRect:
    y: float
    height: float
    color: str
    label: str
    text_y: float


@dataclass(frozen=True)
class HLine:
    y: float
    color: str
    label: str
    dash: str  # SVG stroke-dasharray


@dataclass(frozen=True)
class DayLine:
    x: float
    color: str
    text: str
    kind: str  # "medication" or "session"


@dataclass
class TrendChart(Chart):
    bands: list[BandRect] = field(default_factory=list)
    hlines: list[HLine] = field(default_factory=list)
    day_lines: list[DayLine] = field(default_factory=list)
    top_value: float = 1.0

    @property
    def plot_width(self) -> int:
        return self.plot_right - self.left


@dataclass(frozen=True)
class Mark:
    day: date
    text: str
    kind: str  # "medication" or "session"


@dataclass(frozen=True)
class Reference:
    value: float
    label: str
    kind: str  # "target", "response" or "remission"


def trend_chart(
    points: Sequence[tuple[date, float]],
    start: date,
    end: date,
    *,
    top: float,
    title: str,
    description: str,
    series_label: str,
    bands: Sequence[tuple[float, float, str]] = (),
    references: Sequence[Reference] = (),
    marks: Sequence[Mark] = (),
    width: int = 640,
    height: int = 260,
) -> TrendChart:
    """Scores (one dot each, joined by a line) over [start, end] on a 0–`top` axis; `bands` are
    (low, high, label) shaded behind them; `references` horizontal lines; `marks` vertical day
    lines for medication changes and sessions. The caller fills the table."""
    chart = TrendChart(title=title, description=description, width=width, height=height, top_value=top)
    span = max(1, (end - start).days)
    plot_w = chart.plot_right - chart.left
    plot_h = chart.plot_bottom - chart.top

    def x(day: date) -> float:
        return round(chart.left + plot_w * min(max((day - start).days, 0), span) / span, 1)

    def y(value: float) -> float:
        return round(chart.plot_bottom - plot_h * min(max(value, 0), top) / top, 1)

    for n, (low, high, label) in enumerate(bands):
        # A band of whole scores low..high covers low-0.5..high+0.5 of the axis, clipped.
        y_top, y_bottom = y(min(top, high + 0.5)), y(max(0.0, low - 0.5))
        chart.bands.append(
            BandRect(
                y_top,
                round(y_bottom - y_top, 1),
                BAND_SHADES[min(n, len(BAND_SHADES) - 1)],
                label,
                round(y_top + 11, 1),
            )
        )
    for ref in references:
        dash = {"target": "6 3", "response": "3 3", "remission": "1 3"}[ref.kind]
        chart.hlines.append(HLine(y(ref.value), LINE_COLORS[ref.kind], ref.label, dash))
        chart.legend.append((LINE_COLORS[ref.kind], ref.label))
    for mark in marks:
        if start <= mark.day <= end:
            color = MEDICATION_COLOR if mark.kind == "medication" else SESSION_COLOR
            chart.day_lines.append(DayLine(x(mark.day), color, f"{mark.day:%d %b}: {mark.text}", mark.kind))
    shown = [(d, v) for d, v in points if start <= d <= end]
    if shown:
        d = " ".join(("M" if i == 0 else "L") + f"{x(day)},{y(v)}" for i, (day, v) in enumerate(shown))
        chart.paths.append(Path(d, SCORE_COLOR, series_label))
        for day, value in shown:
            chart.markers.append(
                Marker(x(day), y(value), SCORE_COLOR, f"{day:%d %b %Y}: {series_label} {value:g}")
            )
    chart.legend.insert(0, (SCORE_COLOR, series_label))
    if any(m.kind == "medication" for m in marks):
        chart.legend.append((MEDICATION_COLOR, "Medication started or changed"))
    if any(m.kind == "session" for m in marks):
        chart.legend.append((SESSION_COLOR, "Session attended"))
    for i in range(5):
        day = start + timedelta(days=round(span * i / 4))
        anchor = {0: "start", 4: "end"}.get(i, "middle")
        chart.x_ticks.append(Tick(x(day), chart.plot_bottom + 18, f"{day:%d %b}", anchor))
    ticks = sorted({0.0, top, *(low for low, _, _ in bands if low > 0)}) if bands else [0.0, top / 2, top]
    for value in ticks:
        chart.y_ticks.append(Tick(chart.left - 6, y(value) + 4, f"{value:g}"))
    return chart
