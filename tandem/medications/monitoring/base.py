"""Settings and constants of lab monitoring."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tandem.accounts.models import Role

Event = Literal["start", "dose"]
START: frozenset[Event] = frozenset({"start"})
START_OR_DOSE: frozenset[Event] = frozenset({"start", "dose"})

DEFAULTS: dict[str, int] = {
    "overdue_grace_days": 7,  # a row is overdue this many days after its due date
    "horizon_days": 400,  # recurring rows are planned this far ahead
    "backfill_days": 30,  # a back-dated start plans nothing due longer ago than this
    "alert_within_days": 30,  # an older result entered late is flagged but does not alert
}
ALERT_KIND = "lab"  # a result out of range
OVERDUE_KIND = "lab_overdue"  # monitoring left undone
ROUTE_TO = [Role.PRESCRIBER]
NOTIFY = [Role.CARE_MANAGER]
FUTURE_TOLERANCE = timedelta(minutes=5)
WEIGHT_BASELINE_AFTER_START = timedelta(days=7)


def setting(name: str) -> int:
    value = (getattr(settings, "LAB_MONITORING", None) or {}).get(name, DEFAULTS[name])
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ImproperlyConfigured(f"LAB_MONITORING[{name!r}] must be a whole number of days, not {value!r}")
    return value
