"""The catalog as one organisation sees it: the built-in drugs, its own additions, free text."""

from __future__ import annotations

from tandem.accounts.models import Organisation
from tandem.medications import catalog
from tandem.medications.catalog import Drug
from tandem.medications.models import OrgDrug

# Units a free-text or organisation drug may be prescribed in.
GENERIC_UNITS = ("mg", "mcg", "g", "mL", "unit", "tablet", "capsule", "puff", "patch", "drop")


def org_drug(row: OrgDrug) -> Drug:
    return Drug(
        key=row.key,
        name=row.name,
        classes=tuple(row.classes),
        rxnorm=row.rxnorm or None,
        dose_min_mg=float(row.dose_min_mg) if row.dose_min_mg is not None else None,
        dose_max_mg=float(row.dose_max_mg) if row.dose_max_mg is not None else None,
        serotonergic=row.serotonergic,
        antidepressant=row.antidepressant,
        monitoring=tuple(row.monitoring),
        units=("mg",),
        routes=("oral",),
    )


def extras(organisation: Organisation | int | None) -> list[Drug]:
    if organisation is None:
        return []
    return [org_drug(row) for row in OrgDrug.objects.filter(organisation=organisation)]


def resolve(key: str, organisation: Organisation | int | None = None) -> Drug:
    """The drug a key stands for; KeyError for an unknown key (the caller names the field)."""
    if key.startswith("org:"):
        pk = key.removeprefix("org:")
        row = OrgDrug.objects.filter(pk=int(pk) if pk.isdigit() else -1, organisation=organisation).first()
        if row is None:
            raise KeyError(key)
        return org_drug(row)
    return catalog.get(key)


def units_for(drug: Drug) -> tuple[str, ...]:
    return drug.units or GENERIC_UNITS
