"""The caseload's query string: filter, clinician, sort and page, each from an allow-list.

A bad value is reported naming the parameter ("filter: choose one of …") and ignored, so the
page still shows the unfiltered caseload next to the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from tandem.registry.caseload import Row

FILTERS: dict[str, tuple[str, Callable[[Row], bool]]] = {
    "not_improving": ("Not improving at ≥ 10 weeks", lambda r: r.not_improving),
    "no_contact": ("No contact in 30 days", lambda r: r.no_recent_contact),
    "safety_flag": ("Open safety flag", lambda r: r.safety_flag),
    "remission": ("In remission (PHQ-9)", lambda r: r.in_remission),
    "new": ("New (enrolled in the last 4 weeks)", lambda r: r.is_new),
    "overdue": ("Contact overdue", lambda r: r.overdue),
    "alerts": ("With open alerts", lambda r: r.open_alerts > 0),
}


def _phq(attr: str) -> Callable[[Row], Any]:
    def key(row: Row) -> Any:
        measure = row.phq9
        return getattr(measure, attr) if measure is not None else None

    return key


def _gad(attr: str) -> Callable[[Row], Any]:
    def key(row: Row) -> Any:
        measure = row.gad7
        return getattr(measure, attr) if measure is not None else None

    return key


SORTS: dict[str, tuple[str, Callable[[Row], Any]]] = {
    "patient": ("Patient", lambda r: (r.patient.family_name.lower(), r.patient.given_name.lower())),
    "weeks": ("Weeks in treatment", lambda r: r.weeks),
    "phq9": ("Last PHQ-9", _phq("last")),
    "phq9_change": ("PHQ-9 % change", _phq("change_percent")),
    "gad7": ("Last GAD-7", _gad("last")),
    "gad7_change": ("GAD-7 % change", _gad("change_percent")),
    "last_contact": ("Last contact", lambda r: r.last_contact),
    "next_due": ("Next contact due", lambda r: r.next_due),
    "doses": ("Dose adherence", lambda r: r.dose_percent),
    "pdc": ("PDC", lambda r: r.pdc_percent),
    "attendance": ("Attendance", lambda r: r.attendance_percent),
    "alerts": ("Open alerts", lambda r: r.open_alerts),
}
DEFAULT_SORT = "-alerts"


@dataclass
class Query:
    filter: str = ""
    clinician: int | None = None
    sort: str = DEFAULT_SORT
    errors: dict[str, str] = field(default_factory=dict)

    def as_params(self, **changes: Any) -> dict[str, str]:
        values = {"filter": self.filter, "clinician": self.clinician or "", "sort": self.sort, **changes}
        return {k: str(v) for k, v in values.items() if v not in ("", None)}


def parse(params: QueryDict, clinicians: dict[int, str]) -> Query:
    """`clinicians`: the ids the clinician filter may name (the caseload's team members)."""
    query = Query()
    raw = params.get("filter", "").strip()
    if raw:
        if raw in FILTERS:
            query.filter = raw
        else:
            query.errors["filter"] = "choose one of: " + ", ".join(FILTERS)
    raw = params.get("clinician", "").strip()
    if raw:
        pk = int(raw) if raw.isdigit() and len(raw) < 19 else None
        if pk is not None and pk in clinicians:
            query.clinician = pk
        else:
            query.errors["clinician"] = "choose a clinician on the care team of a patient in this list"
    raw = params.get("sort", "").strip()
    if raw:
        if raw.removeprefix("-") in SORTS:
            query.sort = raw
        else:
            query.errors["sort"] = "sort by one of: " + ", ".join(SORTS) + " (prefix - for descending)"
    return query


def apply(rows: list[Row], query: Query, members: dict[int, set[int]]) -> list[Row]:
    """`members`: patient id → ids of the active care team."""
    if query.clinician is not None:
        rows = [r for r in rows if query.clinician in members.get(r.patient.pk, set())]
    if query.filter:
        test = FILTERS[query.filter][1]
        rows = [r for r in rows if test(r)]
    name = query.sort.removeprefix("-")
    descending = query.sort.startswith("-")
    key = SORTS[name][1]
    by_name = sorted(rows, key=SORTS["patient"][1])
    present = [r for r in by_name if key(r) is not None]
    missing = [r for r in by_name if key(r) is None]  # blanks last, whichever the direction
    present.sort(key=key, reverse=descending)
    return present + missing
