"""Prescribing checks for a start or change, from the patient's regimens in the database.

The rules themselves are pure (rules.py); this module gathers their inputs and turns their
findings into the JSON stored with the regimen version, so the record shows what was shown.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from tandem.lib.timezones import local_date
from tandem.medications import catalog, drugs, rules
from tandem.medications.catalog import Drug
from tandem.medications.models import Regimen, RegimenStatus
from tandem.patients.models import Patient

# How far back stopped regimens matter (washouts: 5 weeks after fluoxetine).
LOOKBACK = timedelta(days=60)
CHANGES: dict[str, rules.Change] = {
    "start": "start",
    "increase": "increase",
    "decrease": "decrease",
    "switch": "switch",
    "change": "restart",
    "resume": "restart",
    "restart": "restart",
}


def _drug(regimen: Regimen) -> Drug:
    try:
        return drugs.resolve(regimen.drug_key, regimen.patient.organisation_id)
    except KeyError:
        return catalog.free_text(regimen.drug_name)


def _daily_mg(regimen: Regimen) -> float | None:
    version = regimen.current
    if version is None or version.dose_unit != "mg" or version.status != RegimenStatus.ACTIVE:
        return None
    amount = version.daily_amount
    return float(amount) if amount > Decimal(0) else None


def findings_for(
    patient: Patient,
    drug: Drug,
    daily_dose_mg: float | None,
    *,
    change: str,
) -> list[dict[str, Any]]:
    now = timezone.now()
    today = local_date(now, patient.time_zone)
    regimens = (
        Regimen.objects.filter(patient=patient)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=now - LOOKBACK))
        .select_related("current", "patient")
    )
    current = [
        rules.ActiveRegimen(
            drug=_drug(r),
            daily_dose_mg=_daily_mg(r),
            start=local_date(r.started_at, patient.time_zone),
            end=local_date(r.ended_at, patient.time_zone) if r.ended_at else None,
        )
        for r in regimens
    ]
    facts = rules.PatientFacts(age_years=patient.age_on(today))
    proposed = rules.ProposedRegimen(
        drug=drug, daily_dose_mg=daily_dose_mg, change=CHANGES.get(change, "start")
    )
    return [as_json(f) for f in rules.check(proposed, current, facts, today)]


def as_json(finding: rules.Finding) -> dict[str, Any]:
    return {
        "rule_id": finding.rule_id,
        "severity": finding.severity,
        "title": finding.title,
        "message": finding.message,
        "source": "; ".join(
            f"{s.citation}{f' ({s.url})' if s.url else ''} [{s.confidence}]" for s in finding.sources
        ),
        "requires_override_reason": finding.requires_override_reason,
        "drugs": list(finding.drugs),
        "due": finding.due.isoformat() if finding.due else None,
    }
