from __future__ import annotations

from datetime import date

from django.template.loader import render_to_string

from tandem.lib.charts import StepSeries, bar_chart, step_chart


def test_a_step_chart_holds_each_dose_until_it_changes():
    series = StepSeries(
        "sertraline",
        [(date(2026, 1, 1), 50), (date(2026, 1, 29), 100)],
        [(date(2026, 1, 29), 100, "Increase")],
    )
    chart = step_chart([series], date(2026, 1, 1), date(2026, 3, 1), title="Daily dose", unit="mg")
    path = chart.paths[0].d
    assert path.startswith("M48.0,") and "H" in path and "V" in path
    assert chart.markers[0].text == "29 Jan: Increase"
    assert ["sertraline", "2026-01-29", "100 mg"] in chart.table_rows


def test_bars_are_scaled_and_coloured_by_the_80_percent_line():
    chart = bar_chart(
        [("W1", 1.0, "7 of 7"), ("W2", 0.5, "3 of 6"), ("W3", None, "no doses due")],
        title="t",
        description="d",
    )
    full, half, none = chart.bars
    assert full.height == 2 * half.height and none.height == 0
    assert full.color != half.color


def test_the_svg_names_itself_and_escapes_labels():
    series = StepSeries("<b>drug</b>", [(date(2026, 1, 1), 10)])
    chart = step_chart([series], date(2026, 1, 1), date(2026, 1, 31), title="Daily dose", unit="mg")
    svg = render_to_string("charts/chart.svg", {"chart": chart, "id": "c1"})
    assert 'role="img"' in svg and '<title id="c1-t">Daily dose</title>' in svg
    assert "<b>drug</b>" not in svg and "&lt;b&gt;drug&lt;/b&gt;" in svg
