"""Lab monitoring: what a regimen calls for, the results that answer it, and what is overdue.

- `plan_monitoring(regimen, version)` turns a start or a dose change into MonitoringDue rows, from
  SCHEDULE below (each item cites its source; where the source leaves the interval open, the
  item says what Tandem chose, and LAB_MONITORING["schedules"] changes it). A stop cancels the
  regimen's open rows.
- `do_record_lab(...)` records one result: checked field by field, flagged against labs.py,
  audited, answering the monitoring rows it satisfies; out of range, it alerts the prescriber.
- `evaluate_overdue(now)` raises one alert per row left undone past a grace period;
  `extend_monitoring(now)` keeps running regimens' recurring rows planned ahead. Both are jobs
  (lab_jobs.py).

Settings, all optional: LAB_MONITORING = {"overdue_grace_days": 7, "horizon_days": 400,
"backfill_days": 30, "alert_within_days": 30, "schedules": {rule_id: None | {"at": [...],
"every": "6m", "early_days": 7, "overdue": "high"}}}; thresholds: labs.thresholds().
"""

from __future__ import annotations

from tandem.medications.monitoring.answers import overdue_key
from tandem.medications.monitoring.base import (
    ALERT_KIND,
    DEFAULTS,
    FUTURE_TOLERANCE,
    NOTIFY,
    OVERDUE_KIND,
    ROUTE_TO,
    START,
    START_OR_DOSE,
    WEIGHT_BASELINE_AFTER_START,
    Event,
    setting,
)
from tandem.medications.monitoring.overdue import OverdueResult, evaluate_overdue
from tandem.medications.monitoring.planning import PlanResult, extend_monitoring, plan_monitoring
from tandem.medications.monitoring.reading import Overview, overview
from tandem.medications.monitoring.recording import LabRecorded, do_record_lab, out_of_range_key
from tandem.medications.monitoring.schedules import (
    SCHEDULE,
    PlanFacts,
    PlannedDue,
    ScheduleItem,
    add_months,
    add_offset,
    drug_for,
    item_for,
    items_by_rule,
    parse_offset,
    planned_dues,
    schedule,
)

__all__ = [
    "ALERT_KIND",
    "DEFAULTS",
    "FUTURE_TOLERANCE",
    "NOTIFY",
    "OVERDUE_KIND",
    "ROUTE_TO",
    "SCHEDULE",
    "START",
    "START_OR_DOSE",
    "WEIGHT_BASELINE_AFTER_START",
    "Event",
    "LabRecorded",
    "OverdueResult",
    "Overview",
    "PlanFacts",
    "PlanResult",
    "PlannedDue",
    "ScheduleItem",
    "add_months",
    "add_offset",
    "do_record_lab",
    "drug_for",
    "evaluate_overdue",
    "extend_monitoring",
    "item_for",
    "items_by_rule",
    "out_of_range_key",
    "overdue_key",
    "overview",
    "parse_offset",
    "plan_monitoring",
    "planned_dues",
    "schedule",
    "setting",
]
