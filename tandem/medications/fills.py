"""Pharmacy fills: recording one (staff, the patient, an import), importing a CSV file of them,
and the proportion of days covered (PDC) computed from them.

A fill names its medicine by one of the patient's regimens or by a drug: a catalog key, name or
synonym, an organisation's drug (`org:<id>`), or `free:<name>` for a medicine not in the catalog.
Its drug class is the therapeutic category PDC is reported for: the drug's first class, or the
drug key itself when the drug has none (free text).

Idempotency: a non-blank `external_id` is recorded once per patient (a unique constraint). The
same id sent again with the same details returns the first fill; with other details it is
refused, naming `external_id`. Imports must carry one, so that a file imported twice records
nothing twice; the staff form and the portal send a form key the same way.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import Organisation, Role, User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.lib.timezones import local_date
from tandem.medications import adherence, catalog, drugs
from tandem.medications.actions import MedicationError
from tandem.medications.models import Fill, FillSource, Regimen
from tandem.patients.access import PatientGrant
from tandem.patients.models import Patient

ENTITY = "MedicationDispense"
DAYS_SUPPLY_MIN, DAYS_SUPPLY_MAX = 1, 365
QUANTITY_MAX = Decimal("9999999.99")  # Fill.quantity: 9 digits, 2 decimal places
# The PDC measurement period: the last PDC_PERIOD_DAYS local days of the patient, today included.
PDC_PERIOD_DAYS = 180
# Care-team roles that enter fills; everybody else who reads medications only reads them.
FILL_ENTRY_ROLES = frozenset({Role.PRESCRIBER, Role.CARE_MANAGER, Role.THERAPIST})


def may_record_fills(grant: PatientGrant) -> bool:
    """Prescribers, care managers and therapists on the care team enter fills (not consented
    outsiders, break-glass readers, the consultant or the org admin)."""
    return grant.basis == "care_team" and grant.role in FILL_ENTRY_ROLES


# --------------------------------------------------------------------------------------------
# Recording one fill


@dataclass(frozen=True)
class FillDrug:
    key: str
    name: str
    drug_class: str
    regimen: Regimen | None


def regimen_class(regimen: Regimen) -> str:
    """The class PDC reports a regimen's fills under (the drug key when it has no class)."""
    return (regimen.drug_classes[0] if regimen.drug_classes else regimen.drug_key)[:40]


def fill_class(fill: Fill) -> str:
    return fill.drug_class or fill.drug_key


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def resolve_fill_drug(patient: Patient, value: Regimen | str) -> FillDrug:
    """The medicine a fill is for; MedicationError naming "regimen" or "drug" otherwise."""
    if isinstance(value, Regimen):
        if value.patient_id != patient.pk:
            raise MedicationError("regimen", "is not one of this patient's medications")
        classes = value.drug_classes or []
        return FillDrug(value.drug_key, value.drug_name, classes[0][:40] if classes else "", value)
    text = " ".join(str(value).split())
    if not text:
        raise MedicationError("drug", "name the medicine")
    if len(text) > 160:
        raise MedicationError("drug", "is longer than 160 characters")
    drug: catalog.Drug | None = None
    if text.startswith(catalog.FREE_PREFIX):
        try:
            drug = catalog.free_text(text.removeprefix(catalog.FREE_PREFIX))
        except ValueError:
            raise MedicationError("drug", "free: needs the medicine's name after it") from None
    else:
        try:
            drug = drugs.resolve(text, patient.organisation_id)
        except KeyError:
            drug = _by_name(patient, text)
    if drug is None:
        raise MedicationError(
            "drug",
            f"unknown medicine “{text}”: give a catalog key or name, org:<id> for your "
            "organisation's own, or free:<name> for a medicine not in the catalog",
        )
    regimen = (
        Regimen.objects.filter(patient=patient, drug_key=drug.key).order_by("status", "-started_at").first()
    )
    # Linked to a regimen, the fill takes the regimen's class, so that PDC and the regimen agree.
    classes = (regimen.drug_classes if regimen is not None else None) or drug.classes
    return FillDrug(drug.key, drug.name[:160], classes[0][:40] if classes else "", regimen)


def _by_name(patient: Patient, text: str) -> catalog.Drug | None:
    """A drug named exactly (case and spacing aside) by its name, key or a synonym; one of the
    patient's own free-text medicines counts as named too."""
    needle = _norm(text)
    for regimen in Regimen.objects.filter(patient=patient).order_by("status", "-started_at"):
        if needle in (_norm(regimen.drug_name), _norm(regimen.drug_key)):
            try:
                return drugs.resolve(regimen.drug_key, patient.organisation_id)
            except KeyError:
                return catalog.Drug(key=regimen.drug_key, name=regimen.drug_name)
    for drug in (*catalog.all_drugs(), *drugs.extras(patient.organisation_id)):
        if needle in {_norm(drug.name), _norm(drug.key.replace("_", " ")), *map(_norm, drug.synonyms)}:
            return drug
    return None


def _check_quantity(quantity: Any) -> Decimal | None:
    if quantity is None or quantity == "":
        return None
    if isinstance(quantity, bool):
        raise MedicationError("quantity", "must be a number")
    try:
        value = Decimal(str(quantity).strip())
    except InvalidOperation:
        raise MedicationError("quantity", f"“{quantity}” is not a number") from None
    if not value.is_finite() or value <= 0:
        raise MedicationError("quantity", "must be more than 0 (or left empty)")
    if value > QUANTITY_MAX or value != value.quantize(Decimal("0.01")):
        raise MedicationError("quantity", f"must be at most {QUANTITY_MAX} with at most 2 decimal places")
    return value.quantize(Decimal("0.01"))


def check_days_supply(days_supply: Any) -> int:
    if isinstance(days_supply, bool) or not isinstance(days_supply, int):
        raise MedicationError("days_supply", "must be a whole number of days")
    if not DAYS_SUPPLY_MIN <= days_supply <= DAYS_SUPPLY_MAX:
        raise MedicationError(
            "days_supply",
            f"must be {DAYS_SUPPLY_MIN} to {DAYS_SUPPLY_MAX} days, not {days_supply}"
            + (": a fill lasts at least one day" if days_supply < DAYS_SUPPLY_MIN else ""),
        )
    return days_supply


def _same_fill(
    fill: Fill, drug: FillDrug, fill_date: date, days_supply: int, quantity: Decimal | None
) -> bool:
    return (fill.drug_key, fill.fill_date, fill.days_supply, fill.quantity) == (
        drug.key,
        fill_date,
        days_supply,
        quantity,
    )


@transaction.atomic
def do_record_fill(
    patient: Patient,
    *,
    regimen_or_drug: Regimen | str,
    fill_date: date,
    days_supply: int,
    quantity: Decimal | int | str | None = None,
    source: str,
    external_id: str = "",
    acting_user: User | None,
    request: HttpRequest | None = None,
    role: str = "",
    now: datetime | None = None,
) -> tuple[Fill, bool]:
    """Record one fill; (fill, created). MedicationError names the field that is wrong:
    regimen, drug, fill_date (not after the patient's today), days_supply (1–365), quantity,
    source or external_id (required for imports)."""
    now = now or timezone.now()
    if source not in FillSource.values:
        raise MedicationError("source", f"must be one of {', '.join(FillSource.values)}")
    external_id = (external_id or "").strip()
    if len(external_id) > 100:
        raise MedicationError("external_id", "is longer than 100 characters")
    if source == FillSource.IMPORT and not external_id:
        raise MedicationError("external_id", "an imported fill needs the sender's id, so it is recorded once")
    drug = resolve_fill_drug(patient, regimen_or_drug)
    if isinstance(fill_date, datetime) or not isinstance(fill_date, date):
        raise MedicationError("fill_date", "must be a date")
    if fill_date > local_date(now, patient.time_zone):
        raise MedicationError("fill_date", "is in the future")
    days_supply = check_days_supply(days_supply)
    amount = _check_quantity(quantity)
    if external_id:
        existing = Fill.objects.filter(patient=patient, external_id=external_id).first()
        if existing is not None:
            if _same_fill(existing, drug, fill_date, days_supply, amount):
                return existing, False
            raise MedicationError(
                "external_id", f"“{external_id}” was already recorded for a different fill ({existing})"
            )
    try:
        with transaction.atomic():
            fill = Fill.objects.create(
                patient=patient,
                regimen=drug.regimen,
                drug_key=drug.key,
                drug_name=drug.name,
                drug_class=drug.drug_class,
                fill_date=fill_date,
                days_supply=days_supply,
                quantity=amount,
                source=source,
                external_id=external_id,
                entered_by=acting_user,
                created_at=now,
            )
    except IntegrityError:
        # The same id sent at the same moment by another request or import.
        again = Fill.objects.filter(patient=patient, external_id=external_id).first() if external_id else None
        if again is not None and _same_fill(again, drug, fill_date, days_supply, amount):
            return again, False
        raise MedicationError("external_id", f"“{external_id}” was already recorded") from None
    audit_patient_event(
        acting_user,
        Action.CREATE,
        ENTITY,
        fill.pk,
        patient,
        request=request,
        role=role,
        source=source,
        drug=drug.key,
        regimen=drug.regimen.pk if drug.regimen else None,
        external_id=external_id,
    )
    return fill, True


# --------------------------------------------------------------------------------------------
# CSV import: one transaction per row, a report of every rejected row by line and column.

COLUMNS = ("mrn", "organisation", "drug", "fill_date", "days_supply", "quantity", "external_id")
REQUIRED_COLUMNS = ("mrn", "organisation", "drug", "fill_date", "days_supply", "external_id")
HEADER_ALIASES = {
    "organisation_slug": "organisation",
    "organization": "organisation",
    "organization_slug": "organisation",
    "org": "organisation",
    "drug_key": "drug",
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# MedicationError fields → the CSV column to name in the report.
_FIELD_COLUMN = {"regimen": "drug", "drug": "drug", "source": "", "external_id": "external_id"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (no header, missing columns): nothing was recorded."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    recorded: int = 0
    already: int = 0  # sent before with the same details: nothing recorded
    rejected_rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    stopped_at: int | None = None  # the line where unreadable CSV stopped the import

    def summary(self) -> str:
        text = (
            f"{self.rows} rows: {self.recorded} recorded, {self.already} already recorded, "
            f"{self.rejected_rows} rejected"
        )
        if self.stopped_at is not None:
            text += f"; stopped at line {self.stopped_at} (unreadable CSV), later lines were not read"
        return text


def _header(names: list[str] | None) -> list[str]:
    if not names:
        raise ImportFileError("the file is empty: the first line must name the columns")
    header = []
    for raw in names:
        name = (raw or "").strip().lower().replace(" ", "_")
        header.append(HEADER_ALIASES.get(name, name))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(the columns are {', '.join(COLUMNS)}; quantity may be left out)"
        )
    duplicated = sorted({c for c in header if header.count(c) > 1 and c in COLUMNS})
    if duplicated:
        raise ImportFileError(f"column {', '.join(duplicated)} is named twice")
    return header


@dataclass
class _Row:
    line: int
    values: dict[str, str]
    extra: bool


def _rows(lines: Iterable[str], report: ImportReport) -> Iterator[_Row]:
    reader = csv.reader(lines)
    try:
        header = _header(next(reader, None))
    except csv.Error as exc:
        raise ImportFileError(f"line 1 is not readable CSV: {exc}") from None
    last_line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.stopped_at = last_line + 1
            report.problems.append(RowProblem(last_line + 1, "", f"not readable CSV: {exc}"))
            return
        line, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are not rows
        values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
        yield _Row(line, values, extra=len(cells) > len(header))


class _Patients:
    """Patients by (organisation slug, MRN), looked up once per file."""

    def __init__(self) -> None:
        self.orgs: dict[str, Organisation | None] = {}
        self.patients: dict[tuple[int, str], Patient | None] = {}

    def find(self, slug: str, mrn: str, problems: list[RowProblem], line: int) -> Patient | None:
        if slug not in self.orgs:
            self.orgs[slug] = Organisation.objects.filter(slug=slug).first() if slug else None
        org = self.orgs[slug]
        if org is None:
            problems.append(
                RowProblem(line, "organisation", f"no organisation “{slug}”" if slug else "is empty")
            )
            return None
        if not mrn:
            problems.append(RowProblem(line, "mrn", "is empty"))
            return None
        key = (org.pk, mrn)
        if key not in self.patients:
            self.patients[key] = (
                Patient.objects.select_related("organisation")
                .filter(organisation=org, mrn=mrn, is_active=True)
                .first()
            )
        patient = self.patients[key]
        if patient is None:
            problems.append(RowProblem(line, "mrn", f"no active patient with MRN “{mrn}” in {org.slug}"))
        return patient


def _parse(row: _Row, problems: list[RowProblem]) -> tuple[date | None, int | None, str]:
    values = row.values
    fill_date = None
    raw_date = values.get("fill_date", "")
    if not _ISO_DATE.fullmatch(raw_date):
        problems.append(RowProblem(row.line, "fill_date", f"“{raw_date}” is not a date like 2026-01-31"))
    else:
        try:
            fill_date = date.fromisoformat(raw_date)
        except ValueError:
            problems.append(RowProblem(row.line, "fill_date", f"“{raw_date}” is not a real date"))
    days_supply = None
    raw_days = values.get("days_supply", "")
    if not re.fullmatch(r"[+-]?\d{1,6}", raw_days):
        problems.append(RowProblem(row.line, "days_supply", f"“{raw_days}” is not a whole number of days"))
    else:
        try:
            days_supply = check_days_supply(int(raw_days))
        except MedicationError as exc:
            problems.append(RowProblem(row.line, "days_supply", str(exc)))
    quantity = values.get("quantity", "")
    if quantity:
        try:
            _check_quantity(quantity)
        except MedicationError as exc:
            problems.append(RowProblem(row.line, "quantity", str(exc)))
    if not values.get("drug"):
        problems.append(RowProblem(row.line, "drug", "is empty"))
    external_id = values.get("external_id", "")
    if not external_id:
        problems.append(RowProblem(row.line, "external_id", "is empty: each row needs the sender's id"))
    elif len(external_id) > 100:
        problems.append(RowProblem(row.line, "external_id", "is longer than 100 characters"))
    return fill_date, days_supply, quantity


def import_fills(
    lines: Iterable[str],
    *,
    acting_user: User | None = None,
    only_patient: Patient | None = None,
    progress: Callable[[int], Any] | None = None,
    request: HttpRequest | None = None,
    role: str = "",
    now: datetime | None = None,
) -> ImportReport:
    """Import the CSV rows of `lines` (text, header first), each row in its own transaction:
    a good row is recorded whole, a bad one not at all and named in the report by line and
    column. Rows sent before (same patient, same external_id, same details) are counted as
    already recorded. `only_patient` refuses rows of anybody else (the upload on one patient's
    page). `progress(n)` is called after each row. ImportFileError: unreadable header."""
    now = now or timezone.now()
    report = ImportReport()
    patients = _Patients()
    for row in _rows(lines, report):
        report.rows += 1
        problems: list[RowProblem] = []
        if row.extra:
            problems.append(RowProblem(row.line, "", "has more fields than the header names"))
        patient = patients.find(
            row.values.get("organisation", ""), row.values.get("mrn", ""), problems, row.line
        )
        if patient is not None and only_patient is not None and patient.pk != only_patient.pk:
            problems.append(
                RowProblem(row.line, "mrn", "is another patient: this upload takes this patient's fills only")
            )
            patient = None
        fill_date, days_supply, quantity = _parse(row, problems)
        if not problems and patient is not None and fill_date is not None and days_supply is not None:
            try:
                _, created = do_record_fill(
                    patient,
                    regimen_or_drug=row.values["drug"],
                    fill_date=fill_date,
                    days_supply=days_supply,
                    quantity=quantity or None,
                    source=FillSource.IMPORT,
                    external_id=row.values["external_id"],
                    acting_user=acting_user,
                    request=request,
                    role=role,
                    now=now,
                )
            except MedicationError as exc:
                problems.append(RowProblem(row.line, _FIELD_COLUMN.get(exc.field, exc.field), str(exc)))
            else:
                if created:
                    report.recorded += 1
                else:
                    report.already += 1
        if problems:
            report.rejected_rows += 1
            report.problems.extend(problems)
        if progress is not None:
            progress(1)
    return report


# --------------------------------------------------------------------------------------------
# PDC from the recorded fills


def ingredient(drug_key: str) -> str:
    """The active ingredient decides shifting (a divalproex refill overlapping valproic acid
    shifts); keys outside the built-in catalog stand for themselves."""
    if drug_key.startswith(("org:", catalog.FREE_PREFIX)):
        return drug_key
    try:
        ingredients = catalog.get(drug_key).ingredients
    except KeyError:
        return drug_key
    return ingredients[0] if len(ingredients) == 1 else drug_key


def as_pdc_fills(fills: Iterable[Fill]) -> list[adherence.Fill]:
    return [
        adherence.Fill(
            drug_key=ingredient(fill.drug_key),
            drug_class=fill_class(fill),
            fill_date=fill.fill_date,
            days_supply=fill.days_supply,
        )
        for fill in fills
    ]


def pdc_period(today: date, days: int = PDC_PERIOD_DAYS) -> tuple[date, date]:
    """The measurement period: the last `days` days ending `today`, both included."""
    return today - timedelta(days=days - 1), today


def patient_pdc(
    patient: Patient, today: date, days: int = PDC_PERIOD_DAYS, *, rules: adherence.PdcRules = adherence.PQA
) -> tuple[dict[str, adherence.PdcResult], list[Fill]]:
    """PDC per drug class over the period ending `today`, and the fills of the period (one query)."""
    start, end = pdc_period(today, days)
    fills = list(
        Fill.objects.filter(patient=patient, fill_date__gte=start, fill_date__lte=end).order_by(
            "fill_date", "pk"
        )
    )
    return adherence.pdc_by_class(as_pdc_fills(fills), start, end, rules=rules), fills
