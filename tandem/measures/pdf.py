"""A trend as a one-page PDF (fpdf2, core fonts): the same chart definition as the page
(charts.TrendChart), drawn with PDF lines and shapes, its legend, the treat-to-target signal
with its reasons, and the latest scores as a table. Text goes through
tandem.practice.pdf.latin1 (core fonts know Latin-1 only)."""

from __future__ import annotations

from datetime import date

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from tandem.measures.charts import TrendChart
from tandem.measures.trend import Trend
from tandem.practice.pdf import latin1

MAX_ROWS = 12


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    text = latin1(text)
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "...") > width - 2:
        text = text[:-1]
    return text + "..."


def trend_pdf(trend: Trend, chart: TrendChart, *, today: date) -> bytes:
    patient = trend.patient
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(12, 10, 12)
    pdf.add_page()
    pdf.set_title(latin1(chart.title))
    pdf.set_creator("Tandem")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 7, latin1(chart.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(
        0,
        5,
        latin1(
            f"{patient.name} - MRN {patient.mrn} - born {patient.date_of_birth.isoformat()} - "
            f"{trend.start.isoformat()} to {trend.end.isoformat()} - printed {today.isoformat()}"
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    top = pdf.get_y() + 2
    width = pdf.w - pdf.l_margin - pdf.r_margin
    scale = width / chart.width
    _draw(pdf, chart, pdf.l_margin, top, scale)
    y = top + chart.height * scale + 1
    y = _legend(pdf, chart, y)
    y = _signal(pdf, trend, y + 1)
    _table(pdf, chart, y + 1)
    return bytes(pdf.output())


def _draw(pdf: FPDF, chart: TrendChart, x0: float, y0: float, k: float) -> None:
    def X(x: float) -> float:
        return x0 + x * k

    def Y(y: float) -> float:
        return y0 + y * k

    for band in chart.bands:
        pdf.set_fill_color(*_rgb(band.color))
        pdf.rect(X(chart.left), Y(band.y), chart.plot_width * k, band.height * k, style="F")
        pdf.set_font("Helvetica", "", 7)
        pdf.set_text_color(110, 120, 132)
        label = latin1(band.label)
        pdf.text(X(chart.plot_right) - pdf.get_string_width(label) - 1, Y(band.text_y), label)
    pdf.set_draw_color(152, 164, 179)
    pdf.set_line_width(0.2)
    pdf.line(X(chart.left), Y(chart.plot_bottom), X(chart.plot_right), Y(chart.plot_bottom))
    pdf.line(X(chart.left), Y(chart.top), X(chart.left), Y(chart.plot_bottom))
    pdf.set_font("Helvetica", "", 7.5)
    pdf.set_text_color(90, 102, 117)
    for tick in chart.y_ticks:
        pdf.text(X(tick.x) - pdf.get_string_width(tick.text), Y(tick.y), tick.text)
    for tick in chart.x_ticks:
        w = pdf.get_string_width(tick.text)
        shift = {"start": 0, "end": w}.get(tick.anchor, w / 2)
        pdf.text(X(tick.x) - shift, Y(tick.y), tick.text)
    for d in chart.day_lines:
        pdf.set_draw_color(*_rgb(d.color))
        pdf.set_fill_color(*_rgb(d.color))
        pdf.set_dash_pattern(1.2, 0.6) if d.kind == "medication" else pdf.set_dash_pattern(0.3, 0.9)
        pdf.line(X(d.x), Y(chart.top), X(d.x), Y(chart.plot_bottom))
        pdf.set_dash_pattern()
        if d.kind == "medication":
            pdf.polygon(
                [
                    (X(d.x), Y(chart.top)),
                    (X(d.x) - 1.5, Y(chart.top) - 2.4),
                    (X(d.x) + 1.5, Y(chart.top) - 2.4),
                ],
                style="F",
            )
        else:
            pdf.circle(X(d.x), Y(chart.plot_bottom), 1.0, style="F")
    for h in chart.hlines:
        pdf.set_draw_color(*_rgb(h.color))
        pdf.set_line_width(0.4)
        dash, gap = (float(n) for n in h.dash.split())
        pdf.set_dash_pattern(dash * k, gap * k)
        pdf.line(X(chart.left), Y(h.y), X(chart.plot_right), Y(h.y))
        pdf.set_dash_pattern()
    pdf.set_line_width(0.7)
    for marker_path in chart.paths:
        pdf.set_draw_color(*_rgb(marker_path.color))
        points = [tuple(float(n) for n in part[1:].split(",")) for part in marker_path.d.split()]
        pdf.polyline([(X(px), Y(py)) for px, py in points])
    pdf.set_line_width(0.5)
    pdf.set_fill_color(255, 255, 255)
    for m in chart.markers:
        pdf.set_draw_color(*_rgb(m.color))
        pdf.circle(X(m.x), Y(m.y), 1.2, style="DF")
    pdf.set_line_width(0.2)
    pdf.set_text_color(0, 0, 0)


def _legend(pdf: FPDF, chart: TrendChart, y: float) -> float:
    pdf.set_font("Helvetica", "", 8)
    x = pdf.l_margin
    for color, label in chart.legend:
        text = latin1(label)
        w = pdf.get_string_width(text) + 8
        if x + w > pdf.w - pdf.r_margin:
            x, y = pdf.l_margin, y + 4.5
        pdf.set_fill_color(*_rgb(color))
        pdf.rect(x, y + 0.8, 3, 3, style="F")
        pdf.text(x + 4, y + 3.5, text)
        x += w
    return y + 5


def _signal(pdf: FPDF, trend: Trend, y: float) -> float:
    signal = trend.signal
    pdf.set_xy(pdf.l_margin, y)
    if signal is None or trend.item is not None:
        return y
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 5, latin1(f"Treat-to-target: {signal.label}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 8)
    lines = [f["text"] for f in signal.reasons.get("findings", []) if f.get("fired")]
    adequacy = signal.reasons.get("adequacy") or {}
    if signal.reasons.get("show_adequacy") and adequacy.get("text"):
        lines.append(adequacy["text"])
    for line in lines[:4]:
        pdf.multi_cell(0, 3.8, latin1(f"- {line}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf.get_y()


def _table(pdf: FPDF, chart: TrendChart, y: float) -> None:
    rows = chart.table_rows[-MAX_ROWS:]
    room = pdf.h - 12 - y
    row_h = 4.4
    rows = rows[-max(0, int(room // row_h) - 1) :] if room > row_h * 2 else []
    if not rows:
        return
    widths = [24.0, 30.0, 40.0, pdf.w - pdf.l_margin - pdf.r_margin - 94.0]
    pdf.set_xy(pdf.l_margin, y)
    pdf.set_font("Helvetica", "B", 8)
    pdf.set_fill_color(230, 230, 230)
    for w, head in zip(widths, chart.table_head, strict=False):
        pdf.cell(w, row_h, latin1(head), border=1, fill=True)
    pdf.ln(row_h)
    pdf.set_font("Helvetica", "", 8)
    for row in rows:
        for w, cell in zip(widths, row, strict=False):
            pdf.cell(w, row_h, _fit(pdf, cell, w), border=1)
        pdf.ln(row_h)
    if len(chart.table_rows) > len(rows):
        pdf.set_font("Helvetica", "I", 7)
        pdf.cell(
            0,
            4,
            latin1(
                f"The latest {len(rows)} of {len(chart.table_rows)} rows; the full table is on the trend page."
            ),
        )
