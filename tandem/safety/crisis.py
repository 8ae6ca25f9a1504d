"""Crisis resources shown to a patient: per organisation and per country, as data with sources.

Which country: the organisation's CrisisSettings.country; without one, the patient's time zone
when it names a country we have lines for (Europe/London → GB, Australia/… → AU); else the US.
Which lines, in order: the organisation's own lines (CrisisSettings.own_lines, then
Organisation.crisis_line when it is not one of the country's lines and is not the US default
"988" in another country), then the country's lines, then its emergency number.
Every line carries its source and whether it was verified against the service's own site;
clinician pages show that, the patient sees the numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tandem.patients.models import Patient
from tandem.safety.models import CrisisSettings

DEFAULT_COUNTRY = "US"


@dataclass(frozen=True)
class Line:
    name: str
    number: str
    how: str  # "call", "call or text"
    hours: str = "any time, day or night"
    emergency: bool = False
    source: str = ""
    verified: bool = False

    @property
    def tel(self) -> str:
        return "tel:" + re.sub(r"[^0-9+]", "", self.number)


COUNTRY_LINES: dict[str, tuple[Line, ...]] = {
    "US": (
        Line(
            "988 Suicide & Crisis Lifeline",
            "988",
            "call or text",
            source="clinical-facts.md §C ✔: call or text 988, live since 16 July 2022 "
            "(https://www.cdcr.ca.gov/ccjbh/2022/07/19/dial-988-to-access-24-hour-emotional-support-and-resources/)",
            verified=True,
        ),
        Line(
            "Emergency services", "911", "call", emergency=True, source="US emergency number", verified=True
        ),
    ),
    "GB": (
        Line(
            "Samaritans",
            "116 123",
            "call free",
            source="https://www.samaritans.org/how-we-can-help/contact-samaritan/ (free from landlines "
            "and mobiles, 24/7)",
            verified=True,
        ),
        Line(
            "NHS 111, mental health option",
            "111",
            "call and choose the mental health option",
            source="NHS trust pages, e.g. https://shsc.nhs.uk/news/call-nhs-111-if-you-are-experiencing-"
            "mental-health-crisis (England; the option's wording varies by nation) — unverified against nhs.uk",
            verified=False,
        ),
        Line(
            "Emergency services",
            "999",
            "call",
            emergency=True,
            source="https://www.norwoodmc.co.uk/2024/08/14/nhs-111-option-2-for-crisis-mental-health-support/ "
            "(999 or A&E when life is at risk) — unverified against nhs.uk",
            verified=False,
        ),
    ),
    "AU": (
        Line(
            "Lifeline",
            "13 11 14",
            "call",
            source="https://lifelineh2h.org.au/get-help/telephone-crisis-support/faqs/ (a Lifeline centre; "
            "24-hour line) — unverified against lifeline.org.au",
            verified=False,
        ),
        Line(
            "Emergency services",
            "000",
            "call",
            emergency=True,
            source="same Lifeline centre page ('If you are in immediate danger call 000') — unverified",
            verified=False,
        ),
    ),
}
COUNTRY_NAMES = {"US": "United States", "GB": "United Kingdom", "AU": "Australia"}
# Time zones that name a country of COUNTRY_LINES without doubt.
ZONE_COUNTRY = {"Europe/London": "GB", "Europe/Belfast": "GB", "GB": "GB"}


def country_for_zone(zone: str) -> str | None:
    if zone in ZONE_COUNTRY:
        return ZONE_COUNTRY[zone]
    if zone.startswith("Australia/"):
        return "AU"
    return None


def _digits(value: str) -> str:
    return re.sub(r"[^0-9]", "", value or "")


@dataclass(frozen=True)
class Resources:
    country: str
    lines: tuple[Line, ...]

    @property
    def first(self) -> Line:
        return self.lines[0]

    @property
    def support(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if not line.emergency)

    @property
    def emergency(self) -> Line | None:
        return next((line for line in self.lines if line.emergency), None)


def resources_for(
    patient: Patient, settings_row: CrisisSettings | None = None, *, looked_up: bool = False
) -> Resources:
    """The crisis lines for the patient: the organisation's own first, then its country's.
    `looked_up`: the caller already read the organisation's settings (None: it has none)."""
    organisation = patient.organisation
    if settings_row is None and not looked_up:
        settings_row = CrisisSettings.objects.filter(organisation=organisation).first()
    country = (settings_row.country if settings_row else "") or country_for_zone(patient.time_zone)
    country = country if country in COUNTRY_LINES else DEFAULT_COUNTRY
    defaults = COUNTRY_LINES[country]
    known = {_digits(line.number) for line in defaults}
    own: list[Line] = []
    for entry in settings_row.own_lines if settings_row else []:
        if isinstance(entry, dict) and _digits(str(entry.get("number", ""))):
            own.append(
                Line(
                    str(entry.get("name") or "Your clinic's crisis line"),
                    str(entry["number"]),
                    str(entry.get("how") or "call"),
                    hours=str(entry.get("hours") or "any time, day or night"),
                    source=f"set by {organisation.name}",
                )
            )
    org_line = (organisation.crisis_line or "").strip()
    digits = _digits(org_line)
    foreign_default = digits == "988" and country != "US"  # the model's default, not valid abroad
    listed = known | {_digits(line.number) for line in own}
    if digits and digits not in listed and not foreign_default:
        own.insert(
            0, Line("Your clinic's crisis line", org_line, "call", source=f"set by {organisation.name}")
        )
    return Resources(country, (*own, *defaults))
