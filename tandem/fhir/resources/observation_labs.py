"""Observations of lab results and vital signs (tandem.medications LabResult): ids `lab-<id>`
(category laboratory; the ECG's QTc is category procedure) and `vital-<id>` (category
vital-signs: weight, BMI, waist, blood pressure). Need "medications", as the labs page.

Each lab kind maps to a LOINC code and each of its units to a UCUM code. Where LOINC tells a
mass concentration from a molar one (creatinine, calcium, lipids, glucose) the code follows the
unit the result was recorded in. Blood pressure is recorded as two results, so it is served as
two Observations (systolic 8480-6, diastolic 8462-4), not as the 85354-9 panel.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.resources.common import instant, ref
from tandem.fhir.search import NOTHING, Token
from tandem.fhir.union import Source
from tandem.medications.labs import KINDS
from tandem.medications.models import FillSource, LabResult
from tandem.patients.models import Category

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
STATUS = "http://hl7.org/fhir/observation-status"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

LABORATORY, VITAL_SIGNS, PROCEDURE = "laboratory", "vital-signs", "procedure"
CATEGORY_DISPLAY = {LABORATORY: "Laboratory", VITAL_SIGNS: "Vital Signs", PROCEDURE: "Procedure"}

# Tandem's unit names (tandem.medications.labs) → UCUM codes.
UCUM_CODES = {
    "mmol/L": "mmol/L",
    "mEq/L": "meq/L",
    "µg/mL": "ug/mL",
    "mg/L": "mg/L",
    "mg/dL": "mg/dL",
    "µmol/L": "umol/L",
    "U/L": "U/L",
    "/µL": "/uL",
    "×10⁹/L": "10*9/L",
    "×10³/µL": "10*3/uL",
    "mL/min/1.73 m²": "mL/min/{1.73_m2}",
    "mIU/L": "m[IU]/L",
    "µIU/mL": "u[IU]/mL",
    "%": "%",
    "kg": "kg",
    "lb": "[lb_av]",
    "kg/m²": "kg/m2",
    "cm": "cm",
    "in": "[in_i]",
    "mmHg": "mm[Hg]",
    "ms": "ms",
}


@dataclass(frozen=True)
class LabCode:
    loinc: str
    display: str
    kind: str  # tandem.medications.labs.KINDS key
    units: tuple[str, ...]  # Tandem's unit names this code is recorded in
    category: str = LABORATORY

    @property
    def ucum(self) -> dict[str, str]:
        """UCUM code → Tandem's unit name."""
        return {UCUM_CODES[u]: u for u in self.units}


def _c(loinc: str, display: str, kind: str, *units: str, category: str = LABORATORY) -> LabCode:
    return LabCode(loinc, display, kind, units or tuple(u.name for u in KINDS[kind].units), category)


SERUM = "in Serum or Plasma"
CODES: tuple[LabCode, ...] = (
    _c("14334-7", f"Lithium [Moles/volume] {SERUM}", "lithium_level"),
    _c("4086-5", f"Valproate [Mass/volume] {SERUM}", "valproate_level"),
    _c("3432-2", f"Carbamazepine [Mass/volume] {SERUM}", "carbamazepine_level"),
    _c("751-8", "Neutrophils [#/volume] in Blood by Automated count", "anc"),
    _c("777-3", "Platelets [#/volume] in Blood by Automated count", "platelets"),
    _c("2160-0", f"Creatinine [Mass/volume] {SERUM}", "creatinine", "mg/dL"),
    _c("14682-9", f"Creatinine [Moles/volume] {SERUM}", "creatinine", "µmol/L"),
    _c(
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood "
        "by Creatinine-based formula (CKD-EPI 2021)",
        "egfr",
    ),
    _c("3016-3", f"Thyrotropin [Units/volume] {SERUM}", "tsh"),
    _c("2951-2", f"Sodium [Moles/volume] {SERUM}", "sodium"),
    _c("17861-6", f"Calcium [Mass/volume] {SERUM}", "calcium", "mg/dL"),
    _c("2000-8", f"Calcium [Moles/volume] {SERUM}", "calcium", "mmol/L"),
    _c("1742-6", f"Alanine aminotransferase [Enzymatic activity/volume] {SERUM}", "alt"),
    _c("1920-8", f"Aspartate aminotransferase [Enzymatic activity/volume] {SERUM}", "ast"),
    _c("2093-3", f"Cholesterol [Mass/volume] {SERUM}", "total_cholesterol", "mg/dL"),
    _c("14647-2", f"Cholesterol [Moles/volume] {SERUM}", "total_cholesterol", "mmol/L"),
    _c("13457-7", f"Cholesterol in LDL [Mass/volume] {SERUM} by calculation", "ldl", "mg/dL"),
    _c("22748-8", f"Cholesterol in LDL [Moles/volume] {SERUM}", "ldl", "mmol/L"),
    _c("2085-9", f"Cholesterol in HDL [Mass/volume] {SERUM}", "hdl", "mg/dL"),
    _c("14646-4", f"Cholesterol in HDL [Moles/volume] {SERUM}", "hdl", "mmol/L"),
    _c("2571-8", f"Triglyceride [Mass/volume] {SERUM}", "triglycerides", "mg/dL"),
    _c("14927-8", f"Triglyceride [Moles/volume] {SERUM}", "triglycerides", "mmol/L"),
    _c("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "hba1c"),
    _c("1558-6", f"Fasting glucose [Mass/volume] {SERUM}", "fasting_glucose", "mg/dL"),
    _c("14771-0", f"Fasting glucose [Moles/volume] {SERUM}", "fasting_glucose", "mmol/L"),
    _c("29463-7", "Body weight", "weight", category=VITAL_SIGNS),
    _c("39156-5", "Body mass index (BMI) [Ratio]", "bmi", category=VITAL_SIGNS),
    _c("8280-0", "Waist Circumference at umbilicus by Tape measure", "waist", category=VITAL_SIGNS),
    _c("8480-6", "Systolic blood pressure", "bp_systolic", category=VITAL_SIGNS),
    _c("8462-4", "Diastolic blood pressure", "bp_diastolic", category=VITAL_SIGNS),
    _c("8636-3", "Q-T interval corrected", "qtc", category=PROCEDURE),
)
BY_LOINC = {c.loinc: c for c in CODES}
BY_KIND_UNIT = {(c.kind, u): c for c in CODES for u in c.units}
VITAL_KINDS = tuple(sorted({c.kind for c in CODES if c.category == VITAL_SIGNS}))
LAB_KINDS = tuple(sorted({c.kind for c in CODES if c.category != VITAL_SIGNS}))
INTERPRETATIONS = {
    "normal": ("N", "Normal"),
    "low": ("L", "Low"),
    "high": ("H", "High"),
    "critical": ("AA", "Critical abnormal"),
}

assert set(VITAL_KINDS) | set(LAB_KINDS) == set(KINDS), "every lab kind needs a LOINC code"
assert {(k, u.name) for k, kind in KINDS.items() for u in kind.units} == set(BY_KIND_UNIT)


def code_q(token: Token) -> Q:
    if token.system not in (None, LOINC):
        return NOTHING
    if not token.code:
        return Q()
    code = BY_LOINC.get(token.code)
    return Q(kind=code.kind, unit__in=code.units) if code is not None else NOTHING


def category_q(token: Token) -> Q:
    if token.system not in (None, CATEGORY):
        return NOTHING
    if not token.code:
        return Q()
    kinds = {c.kind for c in CODES if c.category == token.code}
    return Q(kind__in=sorted(kinds)) if kinds else NOTHING


def status_q(token: Token) -> Q:
    if token.system not in (None, STATUS):
        return NOTHING
    return Q() if token.code in ("", "final") else NOTHING


def identifier_q(token: Token) -> Q:
    if token.system is None:
        return Q(external_id=token.code) | Q(external_id__endswith=f"|{token.code}")
    return Q(external_id=f"{token.system}|{token.code}" if token.system else token.code)


def number(value: Decimal) -> int | float:
    """A stored decimal as a JSON number (at most 3 places, so a float shows it exactly)."""
    return int(value) if value == value.to_integral_value() else float(value)


def identifier_of(external_id: str) -> dict[str, str]:
    system, bar, value = external_id.partition("|")
    return {"system": system, "value": value} if bar and system and value else {"value": external_id}


class LabSource(Source):
    """The lab results (and QTc) of LabResult; `VitalSource` the vital signs."""

    prefix = "lab-"
    need = Category.MEDICATIONS
    kinds = LAB_KINDS
    fields = {
        "patient": "patient_id",
        "subject": "patient_id",
        "date": "observed_at",
        "_lastUpdated": "created_at",
        "updated": "created_at",
    }
    filters = {"category": category_q, "code": code_q, "status": status_q, "identifier": identifier_q}

    def base(self, caller: Caller) -> QuerySet[Any]:
        return LabResult.objects.filter(visible(caller, Category.MEDICATIONS), kind__in=self.kinds)

    def owns(self, row: Any) -> bool:
        return isinstance(row, LabResult) and row.kind in self.kinds

    def to_fhir(self, lab: LabResult) -> dict[str, Any]:
        code = BY_KIND_UNIT.get((lab.kind, lab.unit))
        kind = KINDS.get(lab.kind)
        label = kind.label if kind else lab.kind
        category = code.category if code else LABORATORY
        concept: dict[str, Any] = {"text": label}
        if code is not None:
            concept["coding"] = [{"system": LOINC, "code": code.loinc, "display": code.display}]
        quantity: dict[str, Any] = {"value": number(lab.value), "unit": lab.unit}
        if lab.unit in UCUM_CODES:
            quantity |= {"system": UCUM, "code": UCUM_CODES[lab.unit]}
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"{self.prefix}{lab.pk}",
            "meta": {"lastUpdated": instant(lab.created_at)},
        }
        if lab.external_id:
            resource["identifier"] = [identifier_of(lab.external_id)]
        resource |= {
            "status": "final",
            "category": [
                {"coding": [{"system": CATEGORY, "code": category, "display": CATEGORY_DISPLAY[category]}]}
            ],
            "code": concept,
            "subject": ref("Patient", lab.patient_id),
            "effectiveDateTime": instant(lab.observed_at),
            "issued": instant(lab.created_at),
        }
        if lab.source == FillSource.PATIENT:
            resource["performer"] = [ref("Patient", lab.patient_id)]
        elif lab.entered_by_id is not None:
            resource["performer"] = [ref("Practitioner", lab.entered_by_id)]
        resource["valueQuantity"] = quantity
        if lab.flag in INTERPRETATIONS:
            shown, display = INTERPRETATIONS[lab.flag]
            resource["interpretation"] = [
                {"coding": [{"system": INTERPRETATION, "code": shown, "display": display}]}
            ]
        if lab.note:
            resource["note"] = [{"text": lab.note}]
        return resource


class VitalSource(LabSource):
    prefix = "vital-"
    kinds = VITAL_KINDS
