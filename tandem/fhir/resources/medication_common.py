"""Pieces the medication resource types share: the medicine as a CodeableConcept (RxNorm and
Tandem's catalogue key), a regimen version as a Dosage, the `code` search over drug keys, a
period-valued date parameter, and the checks of an incoming resource (structure, subject, medicine).

Not a resource type itself (its name does not register one): the package imports it like any
module, and it registers nothing.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import CharField, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import Case, When
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from pydantic import ValidationError

from tandem.audit.access import record_denied
from tandem.fhir.auth import Caller
from tandem.fhir.errors import FhirError, not_found
from tandem.fhir.policy import parse_patient_id
from tandem.fhir.resources.common import codesystem
from tandem.fhir.search import DateParam, DateRange, Token
from tandem.medications import catalog
from tandem.medications.actions import PLANNED_AFTER
from tandem.medications.models import OrgDrug, Regimen, RegimenStatus, RegimenVersion, ScheduleKind
from tandem.patients.models import Patient

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
NOTHING = Q(pk__in=[])

# Prescribed units as UCUM codes; the others (tablet, puff…) are counted, as UCUM annotations.
UCUM_UNITS = {"mg": "mg", "mcg": "ug", "g": "g", "mL": "mL"}
# Routes of administration (SNOMED CT "route of administration value" concepts).
ROUTES = {
    "oral": ("26643006", "Oral route"),
    "sublingual": ("37839007", "Sublingual route"),
    "transdermal": ("45890007", "Transdermal route"),
    "intramuscular": ("78421000", "Intramuscular route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "intravenous": ("47625008", "Intravenous route"),
    "rectal": ("37161004", "Rectal route"),
    "topical": ("6064005", "Topical route"),
    "nasal": ("46713006", "Nasal route"),
}


def drug_system() -> str:
    """Tandem's own code for a medicine: its catalogue key (org:<id>, free:<name> included)."""
    return codesystem("medication")


# --- the medicine ---------------------------------------------------------------------------


def with_org_rxnorm(rows: QuerySet[Any], field: str = "drug_key") -> QuerySet[Any]:
    """Annotate `org_rxnorm`: the RxNorm code an organisation gave its own drug (`org:<id>`
    keys), read in the same query so that the mapper needs none per row."""
    keyed = OrgDrug.objects.annotate(tandem_key=Concat(Value("org:"), Cast("pk", CharField()))).filter(
        tandem_key=OuterRef(field)
    )
    return rows.annotate(
        org_rxnorm=Case(
            When(**{f"{field}__startswith": "org:"}, then=Subquery(keyed.values("rxnorm")[:1])),
            default=Value(""),
            output_field=CharField(),
        )
    )


def rxnorm_of(drug_key: str, org_rxnorm: str | None = "") -> str | None:
    if drug_key.startswith("org:"):
        return org_rxnorm or None
    try:
        return catalog.get(drug_key).rxnorm
    except (KeyError, ValueError):
        return None


def medication_concept(drug_key: str, drug_name: str, org_rxnorm: str | None = "") -> dict[str, Any]:
    codings = []
    rxnorm = rxnorm_of(drug_key, org_rxnorm)
    if rxnorm:
        codings.append({"system": RXNORM, "code": rxnorm, "display": drug_name})
    if not drug_key.startswith(catalog.FREE_PREFIX):
        codings.append({"system": drug_system(), "code": drug_key, "display": drug_name})
    concept: dict[str, Any] = {"text": drug_name}
    if codings:
        concept = {"coding": codings, **concept}
    return concept


def _catalogue_keys(rxnorm: str) -> list[str]:
    return [d.key for d in catalog.all_drugs() if d.rxnorm == rxnorm]


def _org_keys(rxnorm: str) -> QuerySet[Any]:
    return (
        OrgDrug.objects.filter(rxnorm=rxnorm)
        .annotate(tandem_key=Concat(Value("org:"), Cast("pk", CharField())))
        .values("tandem_key")
    )


def code_q(token: Token, field: str = "drug_key") -> Q:
    """`code`: an RxNorm code (of the catalogue or an organisation's drug) or Tandem's drug key."""
    if not token.code:
        return Q() if token.system in (None, RXNORM, drug_system()) else NOTHING
    found = NOTHING
    if token.system in (None, RXNORM):
        found |= Q(**{f"{field}__in": _catalogue_keys(token.code)})
        found |= Q(**{f"{field}__in": _org_keys(token.code)})
    if token.system in (None, drug_system()):
        found |= Q(**{field: token.code})
    return found


def drug_for_concept(patient: Patient, concept: Any) -> catalog.Drug | None:
    """The medicine a CodeableConcept names by RxNorm (the catalogue's or the patient's
    organisation's drugs) or by Tandem's own drug key; None when it names none Tandem knows."""
    from tandem.medications import drugs

    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings or []:
        system, code = coding.get("system"), str(coding.get("code") or "")
        if not code:
            continue
        if system == RXNORM:
            for key in _catalogue_keys(code):
                return catalog.get(key)
            own = OrgDrug.objects.filter(organisation_id=patient.organisation_id, rxnorm=code).first()
            if own is not None:
                return drugs.org_drug(own)
        elif system == drug_system() and not code.startswith(catalog.FREE_PREFIX):
            try:
                return drugs.resolve(code, patient.organisation_id)
            except KeyError:
                continue
    return None


# --- the prescription -----------------------------------------------------------------------


def number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def quantity(value: Decimal, unit: str) -> dict[str, Any]:
    found: dict[str, Any] = {"value": number(value), "unit": unit}
    code = UCUM_UNITS.get(unit)
    found |= {"system": UCUM, "code": code or "{" + re.sub(r"[^A-Za-z0-9]", "", unit or "unit") + "}"}
    return found


def prescription_text(version: RegimenVersion) -> str:
    """What a version prescribes, whether or not it is in force ("50 mg at 08:00 and 20:00")."""
    dose = f"{version.dose_amount.normalize():f} {version.dose_unit}"
    if version.schedule_kind == ScheduleKind.AS_NEEDED:
        most = f", at most {version.prn_max_per_day} a day" if version.prn_max_per_day else ""
        text = f"{dose} as needed{most}"
    else:
        every = "" if version.every_days == 1 else f" every {version.every_days} days"
        text = f"{dose} at {' and '.join(version.times)}{every}"
    return f"{text} ({version.route})" if version.route and version.route != "oral" else text


def dosage(version: RegimenVersion) -> dict[str, Any]:
    found: dict[str, Any] = {"text": prescription_text(version)}
    if version.instructions:
        found["patientInstruction"] = version.instructions
    if version.schedule_kind == ScheduleKind.AS_NEEDED:
        found["asNeededBoolean"] = True
        if version.prn_max_per_day:
            found["maxDosePerPeriod"] = {
                "numerator": quantity(version.dose_amount * version.prn_max_per_day, version.dose_unit),
                "denominator": {"value": 1, "unit": "day", "system": UCUM, "code": "d"},
            }
    elif version.times:
        found["timing"] = {
            "repeat": {
                "frequency": len(version.times),
                "period": version.every_days,
                "periodUnit": "d",
                "timeOfDay": [f"{t}:00" for t in version.times],
            }
        }
    if version.route:
        route = ROUTES.get(version.route)
        found["route"] = (
            {"coding": [{"system": SNOMED, "code": route[0], "display": route[1]}], "text": version.route}
            if route
            else {"text": version.route}
        )
    found["doseAndRate"] = [{"doseQuantity": quantity(version.dose_amount, version.dose_unit)}]
    return found


def request_status(regimen: Regimen) -> str:
    """active, on-hold, stopped — or completed: stopped by a step planned in advance (a taper run
    to its end), rather than stopped by hand."""
    if regimen.status == RegimenStatus.ACTIVE:
        return "active"
    if regimen.status == RegimenStatus.HELD:
        return "on-hold"
    current = regimen.current
    if current is not None and current.effective_at > current.created_at + PLANNED_AFTER:
        return "completed"
    return "stopped"


def request_status_q(token: Token, system: str) -> Q:
    if token.system not in (None, system):
        return NOTHING
    planned = Q(current__effective_at__gt=F("current__created_at") + PLANNED_AFTER)
    return {
        "": Q(),
        "active": Q(status=RegimenStatus.ACTIVE),
        "on-hold": Q(status=RegimenStatus.HELD),
        "stopped": Q(status=RegimenStatus.STOPPED) & ~planned,
        "completed": Q(status=RegimenStatus.STOPPED) & planned,
    }.get(token.code, NOTHING)


# --- a period searched by date --------------------------------------------------------------


class PeriodParam(DateParam):
    """A date parameter over a period [start, end) with an open end, compared as FHIR says for
    ranges: `eq` the period lies within the value, `ne` it does not, `lt`/`le` it starts before
    the value's start/end, `gt`/`ge` it goes on after the value's end/start, `sa` it starts
    after the value, `eb` it ended before the value."""

    def __init__(self, name: str, start: str, end: str, *, doc: str = "") -> None:
        super().__init__(name, start, doc=doc)
        self.start, self.end = start, end

    def q(self, value: DateRange) -> Q:
        lo, hi = value.start, value.end
        s, e = self.start, self.end
        open_end = Q(**{f"{e}__isnull": True})
        within = Q(**{f"{s}__gte": lo, f"{e}__isnull": False, f"{e}__lte": hi})
        return {
            "eq": within,
            "ne": ~within,
            "lt": Q(**{f"{s}__lt": lo}),
            "le": Q(**{f"{s}__lt": hi}),
            "gt": open_end | Q(**{f"{e}__gt": hi}),
            "ge": open_end | Q(**{f"{e}__gt": lo}),
            "sa": Q(**{f"{s}__gte": hi}),
            "eb": Q(**{f"{e}__isnull": False, f"{e}__lte": lo}),
        }[value.prefix]


# --- an incoming resource -------------------------------------------------------------------


def check_structure(model: Any, body: dict[str, Any], name: str) -> None:
    """Validate with fhir.resources (R4B): 400 naming each element at fault."""
    try:
        model.model_validate(body)
    except ValidationError as exc:
        issues: list[dict[str, Any]] = []
        for error in exc.errors()[:20]:
            where = name
            for part in error.get("loc", ()):
                if part != "__root__":
                    where += f"[{part}]" if isinstance(part, int) else f".{part}"
            issues.append(
                {
                    "severity": "error",
                    "code": "structure",
                    "diagnostics": f"{where}: {error.get('msg', 'is not valid')}",
                    "expression": [where],
                }
            )
        raise FhirError(400, "structure", issues[0]["diagnostics"], issues=issues) from None


def unprocessable(name: str, element: str, diagnostics: str, code: str = "invalid") -> FhirError:
    return FhirError(422, code, f"{name}.{element}: {diagnostics}", expression=f"{name}.{element}")


def subject_patient(
    request: HttpRequest, caller: Caller, body: dict[str, Any], name: str, may_write: Any
) -> tuple[Patient, str]:
    """The patient `subject` names and the caller's role for writing there: `may_write(caller,
    patient)` answers the role or None. A patient the caller may not write for is the audited
    404 of one that does not exist."""
    subject = body.get("subject")
    reference = subject.get("reference") if isinstance(subject, dict) else None
    if not reference:
        raise unprocessable(name, "subject", "must reference the patient (Patient/<id>).", "required")
    patient_id = parse_patient_id(reference)
    patient = (
        Patient.objects.select_related("organisation").filter(pk=patient_id, is_active=True).first()
        if patient_id
        else None
    )
    role = may_write(caller, patient) if patient is not None else None
    if patient is None or role is None:
        record_denied(request, name, f"patient={str(reference)[:40]}", patient=patient)
        raise not_found()
    return patient, role


def reference_id(value: Any, target: str) -> int | None:
    """The id of a `<target>/<id>` reference (relative or absolute), else None."""
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        return None
    kind, _, rid = reference.rstrip("/").rpartition("/")
    if kind.rpartition("/")[2] != target or not rid.isdigit() or len(rid) > 18:
        return None
    return int(rid)


def parse_moment(text: Any, tz: str) -> datetime | None:
    """A FHIR dateTime with a time and a zone (a date alone is its start in the zone `tz`)."""
    if not isinstance(text, str):
        return None
    if "T" not in text:
        try:
            day = parse_date(text)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)) if day else None
    try:
        moment = parse_datetime(text)
    except ValueError:
        return None
    return moment if moment is not None and timezone.is_aware(moment) else None


def first_text(concepts: Any) -> str:
    """The words of the first CodeableConcept of a list: its text, else a coding's display."""
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        if not isinstance(concept, dict):
            continue
        if concept.get("text"):
            return str(concept["text"])
        for coding in concept.get("coding") or []:
            if coding.get("display"):
                return str(coding["display"])
    return ""
