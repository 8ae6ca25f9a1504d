"""What a trend shows, read in a fixed number of queries (five): the instrument's responses,
the plan's targets, medication starts and changes, attended sessions and the stored
treat-to-target signal. Shared by the clinician page, the portal page and the PDF; `chart()`
turns it into the one chart definition they all draw, in clinician or patient wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tandem.lib.timezones import day_bounds, local_date
from tandem.measures.charts import Mark, Reference, TrendChart, trend_chart
from tandem.measures.definitions import Definition, Item
from tandem.measures.models import InstrumentResponse, TreatmentSignal
from tandem.measures.signals.rules import SOURCES as RULE_SOURCES
from tandem.measures.signals.rules import THRESHOLDS
from tandem.medications.models import ChangeKind, RegimenVersion
from tandem.patients.models import Patient
from tandem.plans.models import PlanStatus, TreatmentPlan
from tandem.plans.schema import COMPARATORS
from tandem.therapy.models import Session, SessionKind, SessionStatus

MIN_WEEKS = 12


@dataclass(frozen=True)
class Point:
    response_id: int
    day: date
    total: int | None
    band_label: str
    item_values: dict[str, int]
    scored: bool


@dataclass(frozen=True)
class Target:
    value: float
    comparator: str
    text: str
    source: str


@dataclass
class Trend:
    patient: Patient
    definition: Definition
    item: Item | None
    start: date
    end: date
    points: list[Point]
    targets: list[Target]
    marks: list[Mark]
    signal: TreatmentSignal | None
    baseline: int | None
    events: dict[date, list[str]] = field(default_factory=dict)

    @property
    def scored(self) -> list[Point]:
        return [p for p in self.points if p.scored and p.total is not None]

    @property
    def latest(self) -> Point | None:
        scored = self.scored
        return scored[-1] if scored else None

    def value(self, point: Point) -> int | None:
        if self.item is None:
            return point.total
        return point.item_values.get(self.item.link_id)


def trendable(defn: Definition) -> bool:
    return defn.scoring.method == "sum" and bool(defn.bands)


def scored_items(defn: Definition) -> list[Item]:
    return [defn.item(link) for link in defn.scoring.items]


def load(patient: Patient, defn: Definition, today: date, *, item: Item | None = None) -> Trend:
    tz = patient.time_zone
    rows = list(
        InstrumentResponse.objects.filter(patient=patient, instrument=defn.id)
        .order_by("authored_at", "id")
        .values_list("id", "authored_at", "total", "band_label", "item_values", "scored")
    )
    points = [
        Point(pk, local_date(at, tz), total, band, values or {}, scored)
        for pk, at, total, band, values, scored in rows
    ]
    first = points[0].day if points else today
    start = min(first - timedelta(days=7), today - timedelta(weeks=MIN_WEEKS))
    end = today
    range_start, _ = day_bounds(start, tz)
    _, range_end = day_bounds(end, tz)
    targets = _targets(patient, defn)
    marks: list[Mark] = []
    events: dict[date, list[str]] = {}
    for version in (
        RegimenVersion.objects.filter(
            regimen__patient=patient, effective_at__gte=range_start, effective_at__lt=range_end
        )
        .select_related("regimen")
        .only("kind", "effective_at", "dose_amount", "dose_unit", "times", "regimen__drug_name")
        .order_by("effective_at", "pk")
    ):
        day = local_date(version.effective_at, tz)
        text = _change_text(version)
        marks.append(Mark(day, text, "medication"))
        events.setdefault(day, []).append(text)
    for starts_at, kind in (
        Session.objects.filter(
            patient=patient,
            status=SessionStatus.ATTENDED,
            starts_at__gte=range_start,
            starts_at__lt=range_end,
        )
        .order_by("starts_at")
        .values_list("starts_at", "kind")
    ):
        day = local_date(starts_at, tz)
        text = "Therapy session attended" if kind == SessionKind.THERAPY else "Medication visit attended"
        marks.append(Mark(day, text, "session"))
        events.setdefault(day, []).append(text)
    signal = TreatmentSignal.objects.filter(patient=patient, instrument=defn.id).first()
    scored = [p for p in points if p.scored and p.total is not None]
    baseline = signal.baseline_total if signal is not None else (scored[0].total if scored else None)
    return Trend(patient, defn, item, start, end, points, targets, marks, signal, baseline, events)


def _change_text(version: RegimenVersion) -> str:
    name = version.regimen.drug_name
    dose = f"{version.dose_amount.normalize():f} {version.dose_unit}"
    if len(version.times) > 1:
        dose += f" {len(version.times)} times a day"
    words: dict[str, str] = {
        ChangeKind.START: f"{name} started, {dose}",
        ChangeKind.INCREASE: f"{name} increased to {dose}",
        ChangeKind.DECREASE: f"{name} decreased to {dose}",
        ChangeKind.SWITCH: f"switched to {name}, {dose}",
        ChangeKind.HOLD: f"{name} on hold",
        ChangeKind.RESUME: f"{name} resumed, {dose}",
        ChangeKind.STOP: f"{name} stopped",
    }
    return words.get(version.kind, f"{name} changed ({dose})")


def _targets(patient: Patient, defn: Definition) -> list[Target]:
    """The active plan's goals measured by this instrument; one query."""
    plan = (
        TreatmentPlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE, current__isnull=False)
        .select_related("current")
        .only("current__content")
        .first()
    )
    found: list[Target] = []
    if plan is not None and plan.current is not None and defn.plan_key:
        for goal in plan.current.content.get("goals") or []:
            if (
                goal.get("measure") == defn.plan_key
                and goal.get("target") is not None
                and goal.get("comparator")
            ):
                value = float(goal["target"])
                comparator = str(goal["comparator"])
                found.append(
                    Target(
                        value,
                        comparator,
                        f"{defn.short_name} {COMPARATORS.get(comparator, comparator)} {value:g}",
                        f"plan goal: {goal.get('text', '')}",
                    )
                )
    return sorted({t.value: t for t in found}.values(), key=lambda t: -t.value)


def references(trend: Trend, *, patient_words: bool = False) -> list[Reference]:
    """Target lines, and for PHQ-9 and GAD-7 the response and remission lines. Without a plan
    target the target is remission."""
    if trend.item is not None:
        return []
    defn = trend.definition
    refs: list[Reference] = []
    thresholds = THRESHOLDS.get(defn.id)
    for t in trend.targets:
        # Drawn on the boundary between whole scores: "< 10" between 9 and 10.
        edge = t.value - 0.5 if t.comparator in ("<", ">=") else t.value + 0.5
        refs.append(Reference(edge, ("Your goal: " if patient_words else "Plan target: ") + t.text, "target"))
    if thresholds is not None:
        if trend.baseline:
            half = trend.baseline / 2
            refs.append(
                Reference(
                    half,
                    f"Half of your first score ({half:g})"
                    if patient_words
                    else f"Response: 50 % below baseline {trend.baseline} ({half:g})",
                    "response",
                )
            )
        below = thresholds.remission_below
        if not trend.targets:
            label = (
                f"Your goal: below {below}"
                if patient_words
                else f"Target (no plan target): remission, below {below}"
            )
            refs.append(Reference(below - 0.5, label, "target"))
        else:
            label = f"Below {below}: few or no symptoms" if patient_words else f"Remission: below {below}"
            refs.append(Reference(below - 0.5, label, "remission"))
    return refs


def chart(trend: Trend, *, patient_words: bool = False, width: int = 640) -> TrendChart:
    defn = trend.definition
    name = defn.short_name
    if trend.item is not None:
        span = defn.item_range(trend.item)
        top = float(span[1]) if span else 3.0
        label = f"Question {trend.item.number}: {trend.item.short or trend.item.text}"
        bands: list[tuple[float, float, str]] = []
    else:
        top = float(defn.scoring.max or 1)
        label = f"Your {name} score" if patient_words else f"{name} total"
        bands = [(float(b.min), float(b.max), b.label) for b in defn.bands]
    points = [(p.day, float(v)) for p in trend.points if p.scored and (v := trend.value(p)) is not None]
    if trend.item is not None:  # an item is answered even on a form left incomplete
        points = [(p.day, float(v)) for p in trend.points if (v := trend.value(p)) is not None]
    better = "higher" if defn.higher_is_better else "lower"
    if patient_words:
        title = f"Your {name} answers over time" if trend.item else f"Your {name} scores over time"
        description = (
            f"{len(points)} answers from {trend.start:%d %b %Y} to {trend.end:%d %b %Y}. A {better} score means "
            "fewer symptoms. Medicine changes and sessions you came to are marked on the time line."
        )
    else:
        title = f"{label} over time"
        description = (
            f"{len(points)} scores from {trend.start:%d %b %Y} to {trend.end:%d %b %Y} on a 0–{top:g} scale "
            f"({better} is better), with the severity bands shaded, the target, response and remission lines, "
            "medication starts and changes and attended sessions marked on the time axis."
        )
    result = trend_chart(
        points,
        trend.start,
        trend.end,
        top=top,
        title=title,
        description=description,
        series_label=label,
        bands=bands,
        references=references(trend, patient_words=patient_words),
        marks=trend.marks,
        width=width,
    )
    result.table_head = [
        "Date",
        "Score" if trend.item is None else "Answer",
        "Band",
        "Medication and sessions",
    ]
    by_day: dict[date, list[Point]] = {}
    for p in trend.points:
        by_day.setdefault(p.day, []).append(p)
    for day in sorted(set(by_day) | set(trend.events)):
        events = "; ".join(trend.events.get(day, [])) or "—"
        for p in by_day.get(day, []) or [None]:  # type: ignore[list-item]
            if p is None:
                result.table_rows.append([f"{day:%Y-%m-%d}", "—", "—", events])
                continue
            value = trend.value(p)
            shown = (
                "not scored (incomplete)"
                if trend.item is None and not p.scored
                else ("—" if value is None else str(value))
            )
            result.table_rows.append([f"{day:%Y-%m-%d}", shown, p.band_label or "—", events])
    return result


def sources(trend: Trend) -> list[str]:
    out = [f"Bands: {trend.definition.bands[0].source}"] if trend.definition.bands else []
    if trend.definition.id in THRESHOLDS:
        out += [RULE_SOURCES["response"], RULE_SOURCES[f"remission.{trend.definition.id}"]]
    return out


def summary(trend: Trend) -> dict[str, Any]:
    latest = trend.latest
    return {
        "latest": latest,
        "first": trend.scored[0] if trend.scored else None,
        "count": len(trend.scored),
    }
