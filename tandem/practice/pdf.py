"""The diary card's weekly summary as a one-page PDF (fpdf2, core fonts only).

Core PDF fonts know Latin-1 only, so every text goes through `latin1()`: typographic dashes and
quotes become their ASCII look-alikes and anything else outside Latin-1 becomes "?".
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from tandem.patients.models import Patient
from tandem.practice.models import Assignment
from tandem.practice.rules import DIARY_RULE_ID, URGE_ALERT_AT

ASCII_FOR = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u00a0": " ",
    "\u2265": ">=",
    "\u2264": "<=",
    "\u00f7": "/",
    # Letters that do not decompose into a Latin-1 base letter.
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0131": "i",
    "\u0152": "OE",
    "\u0153": "oe",
}


def latin1(text: Any) -> str:
    out = []
    for ch in str(text):
        ch = ASCII_FOR.get(ch, ch)
        try:
            ch.encode("latin-1")
        except UnicodeEncodeError:
            # Letters with marks outside Latin-1 keep their base letter (e.g. "ő" → "o").
            base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode("latin-1")
            ch = base or "?"
        out.append(ch)
    return "".join(out)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    text = latin1(text)
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "...") > width - 2:
        text = text[:-1]
    return text + "..."


def diary_week_pdf(patient: Patient, assignment: Assignment, monday: date, grid: dict[str, Any]) -> bytes:
    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(12, 12, 12)
    pdf.add_page()
    pdf.set_title(latin1(f"Diary card week of {monday.isoformat()}"))
    pdf.set_creator("Tandem")
    sunday = monday + timedelta(days=6)
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(
        0,
        8,
        latin1(f"DBT diary card - week of {monday:%a} {monday.day} {monday:%b %Y}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0,
        6,
        latin1(
            f"{patient.name} - MRN {patient.mrn} - born {patient.date_of_birth.isoformat()} - "
            f"{monday.isoformat()} to {sunday.isoformat()} - {grid['filled']} of 7 days filled in"
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(2)
    label_w = 62.0
    day_w = (pdf.w - pdf.l_margin - pdf.r_margin - label_w) / 7
    row_h = 6.2
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_fill_color(230, 230, 230)
    pdf.cell(label_w, row_h, "Item (scale)", border=1, fill=True)
    for day in grid["days"]:
        pdf.cell(day_w, row_h, latin1(f"{day:%a} {day.day} {day:%b}"), border=1, align="C", fill=True)
    pdf.ln(row_h)
    for row in grid["rows"]:
        pdf.set_font("Helvetica", "", 9)
        label = row["label"] + (f" ({row['scale']})" if row["scale"] else "")
        pdf.cell(label_w, row_h, _fit(pdf, label, label_w), border=1)
        for cell in row["cells"]:
            pdf.set_font("Helvetica", "B" if cell["high"] else "", 9)
            pdf.set_fill_color(255, 214, 214)
            pdf.cell(day_w, row_h, _fit(pdf, cell["text"], day_w), border=1, align="C", fill=cell["high"])
        pdf.ln(row_h)
    pdf.set_font("Helvetica", "", 9)
    pdf.cell(label_w, row_h, "Dose log (scheduled doses)", border=1)
    for text in grid["doses"]:
        pdf.cell(day_w, row_h, _fit(pdf, text or "-", day_w), border=1, align="C")
    pdf.ln(row_h + 3)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(
        0,
        4,
        latin1(
            "Urges and emotions 0-5; skills used 0-7 (0 = didn't think about or use, 3 = tried but couldn't, "
            "5 = tried, could use, helped, 7 = didn't need to try, used them, helped). Medication: the patient's "
            "answer; dose log: doses recorded against the schedule. Bold cells on red: a self-harm or suicide "
            f"urge of {URGE_ALERT_AT} or more, or acted on (rule {DIARY_RULE_ID}). Diary card after "
            "M. M. Linehan, DBT Skills Training Handouts and Worksheets (2015)."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if grid["notes"]:
        pdf.ln(1)
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(0, 5, "Notes", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 8)
        room = pdf.h - pdf.b_margin - 8
        for day, note in grid["notes"]:
            if pdf.get_y() + 4 > room:
                break
            line = f"{day:%a} {day.day}: {' '.join(str(note).split())}"
            pdf.cell(
                0,
                4,
                _fit(pdf, line, pdf.w - pdf.l_margin - pdf.r_margin),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
    pdf.set_y(pdf.h - pdf.b_margin - 5)
    pdf.set_font("Helvetica", "I", 7)
    printed = timezone.localtime(timezone.now(), patient.tz)
    pdf.cell(
        0,
        4,
        latin1(
            f"{assignment.title} - printed {printed:%Y-%m-%d %H:%M} ({patient.time_zone}) - Tandem - confidential"
        ),
    )
    return bytes(pdf.output())
