"""Monthly reports: one patient's month, and many patients' months in a fixed number of queries.

The first month of collaborative care (99492 rather than 99493) is the patient's calendar month
of the earlier of: the start of the first care-manager row on the patient's care team, and the
first day a care manager logged time for them. A care manager who joins, leaves and is replaced
does not start a new first month.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models import Min, Q, Sum

from tandem.accounts.models import Role
from tandem.caretime import rules
from tandem.caretime.models import TimeEntry
from tandem.patients.models import CareTeamMember

COCM_ROLE = Role.CARE_MANAGER.value


def thresholds() -> rules.Thresholds:
    return rules.thresholds_from(getattr(settings, "TANDEM_CARETIME_THRESHOLDS", None))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), 12 if month.month == 1 else month.month - 1, 1)


def parse_month(text: str) -> date:
    """ "2025-03" → date(2025, 3, 1); ValueError for anything else."""
    year, sep, mon = text.partition("-")
    if not sep or len(year) != 4 or not year.isdigit() or not mon.isdigit() or len(mon) > 2:
        raise ValueError(text)
    return date(int(year), int(mon), 1)


@dataclass
class PatientMonth:
    patient_id: int
    month: date
    cocm_minutes: int
    all_minutes: int
    first_month: date | None
    codes: list[rules.CodeLine] = field(default_factory=list)

    @property
    def is_first_month(self) -> bool:
        return self.first_month == self.month

    @property
    def other_minutes(self) -> int:
        return self.all_minutes - self.cocm_minutes

    @property
    def code_summary(self) -> str:
        return ", ".join(f"{c.code}×{c.units}" if c.units > 1 else c.code for c in self.codes) or "none"


def first_months(patient_ids: Iterable[int]) -> dict[int, date]:
    """Each patient's first month of collaborative care (see the module docstring); two queries."""
    ids = list(patient_ids)
    found: dict[int, date] = {}
    team = (
        CareTeamMember.objects.filter(patient_id__in=ids, role=COCM_ROLE)
        .values("patient_id")
        .annotate(first=Min("start"))
    )
    for row in team:
        found[row["patient_id"]] = row["first"]
    logged = (
        TimeEntry.objects.filter(patient_id__in=ids, role=COCM_ROLE)
        .values("patient_id")
        .annotate(first=Min("day"))
    )
    for row in logged:
        pid, first = row["patient_id"], row["first"]
        if pid not in found or first < found[pid]:
            found[pid] = first
    return {pid: month_start(day) for pid, day in found.items()}


def months_for(
    patient_ids: Iterable[int] | None, month: date, *, organisation_id: int | None = None
) -> list[PatientMonth]:
    """The month of every patient with time logged in it, among `patient_ids` (or all patients of
    `organisation_id`), with the codes it supports. Three queries whatever the number of patients."""
    t = thresholds()
    entries = TimeEntry.objects.filter(month=month)
    if patient_ids is not None:
        entries = entries.filter(patient_id__in=list(patient_ids))
    if organisation_id is not None:
        entries = entries.filter(patient__organisation_id=organisation_id)
    totals = list(
        entries.values("patient_id")
        .annotate(cocm=Sum("minutes", filter=Q(role=COCM_ROLE)), total=Sum("minutes"))
        .order_by("patient_id")
    )
    firsts = first_months(row["patient_id"] for row in totals)
    result = []
    for row in totals:
        pid = row["patient_id"]
        cocm = row["cocm"] or 0
        first = firsts.get(pid)
        pm = PatientMonth(pid, month, cocm, row["total"] or 0, first)
        pm.codes = rules.codes_for_month(cocm, pm.is_first_month, t, bhi_minutes=pm.all_minutes)
        result.append(pm)
    return result


def patient_month(patient_id: int, month: date) -> PatientMonth:
    found = months_for([patient_id], month)
    if found:
        return found[0]
    first = first_months([patient_id]).get(patient_id)
    pm = PatientMonth(patient_id, month, 0, 0, first)
    pm.codes = rules.codes_for_month(0, pm.is_first_month, thresholds(), bhi_minutes=0)
    return pm
