"""Demo medications, part two: side-effect reports with the prescriber's responses, laboratory
results with their monitoring, and prescribing checks a prescriber overrode with a reason.

Everything goes through the actions the product uses (`do_start_regimen` with the findings of
`checks.findings_for`, as the start form does; `do_record_lab`; `do_report_side_effect`), so the
alerts, monitoring rows and audit events are those a clinic would see. Times are anchored to the
regimens the demo already holds, and each story runs once: a regimen it starts is its marker, and
side-effect reports carry idempotency keys, so running `tandem demo` again changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.core.seeding import DemoContext
from tandem.lib.timezones import at_local, local_date
from tandem.medications import checks, drugs
from tandem.medications.actions import do_change_regimen, do_start_regimen
from tandem.medications.models import Regimen, RegimenStatus
from tandem.patients.models import CareTeamMember, Patient

# Roles that may take a side-effect report by phone for a patient without a portal account.
REPORT_TAKERS = (Role.CARE_MANAGER, Role.THERAPIST, Role.PRESCRIBER)


def build(ctx: DemoContext) -> None:
    org = ctx.orgs.get("demo-clinic")
    if org is None:
        return
    patients = {p.mrn: p for p in Patient.objects.filter(organisation=org)}
    now = timezone.now()
    for mrn, story in STORIES:
        patient = patients.get(mrn)
        prescriber = _member(patient, Role.PRESCRIBER) if patient else None
        if patient is None or prescriber is None:
            continue
        story(ctx, Story(patient, prescriber, now))


@dataclass
class Story:
    patient: Patient
    prescriber: User
    now: datetime

    def at(self, anchor: datetime, days: int, clock: str) -> datetime:
        """`clock` o'clock in the patient's zone, `days` after the local day of `anchor`; never
        later than a minute ago."""
        hours, minutes = (int(part) for part in clock.split(":"))
        day = local_date(anchor, self.patient.time_zone) + timedelta(days=days)
        return min(
            at_local(day, time(hours, minutes), self.patient.time_zone), self.now - timedelta(minutes=1)
        )

    def regimen(self, drug_key: str) -> Regimen | None:
        return (
            Regimen.objects.filter(patient=self.patient, drug_key=drug_key)
            .select_related("current")
            .order_by("started_at", "pk")
            .first()
        )

    def lab(
        self, ctx: DemoContext, kind: str, value: str, unit: str, observed_at: datetime, note: str = ""
    ) -> None:
        from tandem.medications.monitoring import do_record_lab

        recorded = do_record_lab(
            self.patient,
            kind=kind,
            value=Decimal(value),
            unit=unit,
            observed_at=observed_at,
            note=note,
            acting_user=self.prescriber,
            role=Role.PRESCRIBER,
            now=min(observed_at + timedelta(hours=5), self.now),
        )
        if recorded.created:
            ctx.count("lab results")

    def start(
        self,
        ctx: DemoContext,
        drug_key: str,
        dose_mg: int,
        times: list[str],
        *,
        at: datetime,
        reason: str,
        indication: str = "",
        override_reason: str = "",
    ) -> Regimen:
        """Start as the start form does: the prescribing checks are run and stored with the
        version, and a finding that needs a reason gets the prescriber's."""
        drug = drugs.resolve(drug_key, self.patient.organisation_id)
        findings = checks.findings_for(self.patient, drug, float(dose_mg * len(times)), change="start")
        regimen = do_start_regimen(
            self.patient,
            drug_key=drug.key,
            drug_name=drug.name,
            drug_classes=list(drug.classes),
            dose_amount=Decimal(dose_mg),
            times=times,
            indication=indication,
            reason=reason,
            acting_user=self.prescriber,
            role=Role.PRESCRIBER,
            findings=findings,
            override_reason=override_reason if findings else "",
            effective_at=at,
        )
        ctx.count("regimens")
        if findings and override_reason:
            ctx.count("prescribing checks overridden")
        return regimen

    def change(
        self,
        ctx: DemoContext,
        regimen: Regimen,
        kind: str,
        *,
        at: datetime,
        reason: str,
        dose_mg: int | None = None,
        override_reason: str = "",
    ) -> None:
        """A dose change or a stop as the change form does it: the checks run on a dose change,
        and one that needs a reason gets the prescriber's (MedicationError without one)."""
        changes: dict[str, Any] = {}
        findings: list[dict[str, Any]] = []
        if dose_mg is not None:
            assert regimen.current is not None
            changes["dose_amount"] = Decimal(dose_mg)
            drug = drugs.resolve(regimen.drug_key, self.patient.organisation_id)
            findings = checks.findings_for(
                self.patient, drug, float(dose_mg * len(regimen.current.times)), change=kind
            )
        do_change_regimen(
            regimen,
            kind=kind,
            reason=reason,
            acting_user=self.prescriber,
            role=Role.PRESCRIBER,
            findings=findings,
            override_reason=override_reason if findings else "",
            effective_at=at,
            **changes,
        )
        regimen.refresh_from_db()
        if findings and override_reason:
            ctx.count("prescribing checks overridden")

    def side_effect(
        self,
        ctx: DemoContext,
        key: str,
        regimen: Regimen | None,
        *,
        at: datetime,
        scores: tuple[int, int, int],
        symptoms: list[str],
        text: str,
        response: tuple[str, str, datetime] | None = None,
    ) -> bool:
        """One report (by the patient in the portal, or taken by phone by the team) and the
        prescriber's response; True when the response was recorded now."""
        from tandem.medications.side_effect_actions import do_report_side_effect, do_respond_to_side_effect

        reporter, role = self.patient.portal_user, "patient"
        if reporter is None:
            for taker in REPORT_TAKERS:
                member = _member(self.patient, taker)
                if member is not None:
                    reporter, role = member, taker
                    break
        assert reporter is not None  # the prescriber at least
        frequency, intensity, burden = scores
        report, created = do_report_side_effect(
            self.patient,
            regimen=regimen,
            frequency=frequency,
            intensity=intensity,
            burden=burden,
            symptoms=symptoms,
            text=text,
            idempotency_key=key,
            acting_user=reporter,
            role=role,
            now=at,
        )
        if created:
            ctx.count("side-effect reports")
        if response is None or report.response:
            return False
        answer, note, when = response
        do_respond_to_side_effect(
            report, response=answer, note=note, acting_user=self.prescriber, role=Role.PRESCRIBER, now=when
        )
        return True


def _member(patient: Patient | None, role: str) -> User | None:
    member = (
        CareTeamMember.objects.filter(patient=patient, role=role, end__isnull=True)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return member.user if member else None


def _version(regimen: Regimen, kind: str) -> datetime:
    """When the regimen's first change of `kind` took effect (its start when there was none)."""
    version = regimen.versions.filter(kind=kind).order_by("number").first()
    return version.effective_at if version else regimen.started_at


# ---------------------------------------------------------------------------------------------
# Side effects.


def maya(ctx: DemoContext, s: Story) -> None:
    """Nausea and poor sleep in the week after her sertraline went up; told to carry on."""
    sertraline = s.regimen("sertraline")
    if sertraline is None:
        return
    increase = _version(sertraline, "increase")
    s.side_effect(
        ctx,
        "demo-se-maya-1",
        sertraline,
        at=s.at(increase, 5, "07:40"),
        scores=(3, 2, 2),
        symptoms=["nausea", "sleep"],
        text="A bit sick after the morning tablet and I wake up at 4 most nights since the higher dose.",
        response=(
            "continue",
            "This is common in the first two weeks after a dose increase and usually settles. Take the "
            "tablet with breakfast, and keep a note of your sleep; if it is no better in two weeks, tell us.",
            s.at(increase, 6, "12:15"),
        ),
    )


def jim(ctx: DemoContext, s: Story) -> None:
    """Nausea and poor sleep after his increase (answered) and, yesterday, a heavier burden still
    waiting for the prescriber."""
    escitalopram = s.regimen("escitalopram")
    if escitalopram is None:
        return
    increase = _version(escitalopram, "increase")
    s.side_effect(
        ctx,
        "demo-se-1",
        escitalopram,
        at=s.at(increase, 11, "08:30"),
        scores=(3, 2, 2),
        symptoms=["nausea", "sleep"],
        text="Queasy in the mornings since the dose went up.",
        response=(
            "continue",
            "Common in the first weeks after an increase. Take it with breakfast; tell me if it lasts "
            "beyond two more weeks.",
            s.at(increase, 12, "16:05"),
        ),
    )
    s.side_effect(
        ctx,
        "demo-se-2",
        escitalopram,
        at=s.at(s.now, -1, "21:20"),
        scores=(5, 4, 5),
        symptoms=["sleep", "sexual"],
        text="Hardly sleeping, and it is getting me down.",
    )


def olivia(ctx: DemoContext, s: Story) -> None:
    """A heavy burden on sertraline 50 mg (triaged high): the prescriber brings the dose back."""
    sertraline = s.regimen("sertraline")
    if sertraline is None or sertraline.current is None:
        return
    increase = _version(sertraline, "increase")
    answered = s.side_effect(
        ctx,
        "demo-se-olivia-1",
        sertraline,
        at=s.at(increase, 10, "19:10"),
        scores=(5, 4, 5),
        symptoms=["sleep", "dizziness", "nausea"],
        text="Since the new dose I feel dizzy and sick most of the day and I have had to leave work early twice.",
        response=(
            "adjust",
            "Thank you for telling us. Go back to 25 mg each morning from tomorrow; the side effects "
            "should ease within a few days. I will call you next week to see how you are.",
            s.at(increase, 11, "09:30"),
        ),
    )
    dose = sertraline.current.dose_amount
    if answered and sertraline.status == RegimenStatus.ACTIVE and dose > 25:
        s.change(
            ctx,
            sertraline,
            "decrease",
            at=s.at(increase, 12, "00:00"),
            reason="FIBSER burden 5 on 50 mg: back to 25 mg, review in a week",
            dose_mg=25,
        )


def victor(ctx: DemoContext, s: Story) -> None:
    """A rash on lamotrigine, yesterday: triaged urgent, the prescriber sees him the same day."""
    lamotrigine = s.regimen("lamotrigine")
    if lamotrigine is None:
        return
    s.side_effect(
        ctx,
        "demo-se-victor-rash",
        lamotrigine,
        at=s.at(s.now, -1, "07:50"),
        scores=(4, 3, 3),
        symptoms=["rash"],
        text="Red, itchy spots on my chest and arms since last night. No blisters. I feel fine otherwise.",
        response=(
            "see",
            "Please do not take today's lamotrigine. Come to the clinic at 11:30 this morning so I can look "
            "at the rash. If you get a fever, blisters, sore eyes or mouth sores before then, go to the "
            "emergency department straight away.",
            s.at(s.now, -1, "08:25"),
        ),
    )


# ---------------------------------------------------------------------------------------------
# Laboratory results and prescribing checks overridden.


def daniel(ctx: DemoContext, s: Story) -> None:
    """Lithium added to venlafaxine: baseline kidney and thyroid tests, a level in range at steady
    state, then a short ibuprofen course started over the interaction check, and the high level
    (awaiting the prescriber) on its fifth day."""
    if s.regimen("lithium") is not None:
        return
    start = s.now - timedelta(days=40)
    baseline = s.at(start, -3, "09:10")
    for kind, value, unit in (
        ("creatinine", "0.92", "mg/dL"),
        ("egfr", "96", "mL/min/1.73 m²"),
        ("tsh", "2.1", "mIU/L"),
        ("calcium", "9.4", "mg/dL"),
        ("sodium", "140", "mmol/L"),
        ("platelets", "245", "×10⁹/L"),
    ):
        s.lab(ctx, kind, value, unit, baseline)
    lithium = s.start(
        ctx,
        "lithium",
        300,
        ["08:00", "20:00"],
        at=start,
        reason="Augmentation after two antidepressant trials",
        indication="Treatment-resistant depression",
    )
    _dose_logs(s, lithium)
    s.lab(
        ctx, "lithium_level", "0.6", "mmol/L", s.at(start, 6, "08:15"), note="12 hours after the evening dose"
    )
    ibuprofen = s.start(
        ctx,
        "ibuprofen",
        400,
        ["08:00", "14:00", "20:00"],
        at=s.at(start, 31, "17:30"),
        reason="Sprained ankle; paracetamol alone not enough",
        indication="Acute ankle sprain",
        override_reason="Five days only, with food. Lithium level on day 5; told him the signs of lithium "
        "toxicity and to drink normally.",
    )
    s.lab(ctx, "lithium_level", "1.1", "mmol/L", s.at(start, 36, "08:10"), note="Day 5 of ibuprofen")
    s.lab(ctx, "creatinine", "1.05", "mg/dL", s.at(start, 36, "08:10"))
    s.lab(ctx, "egfr", "84", "mL/min/1.73 m²", s.at(start, 36, "08:10"))
    s.change(
        ctx,
        ibuprofen,
        "stop",
        at=s.at(start, 36, "18:00"),
        reason="Course finished; lithium level 1.1 on day 5",
    )


def rafael(ctx: DemoContext, s: Story) -> None:
    """Valproate added to lamotrigine over the interaction check, with liver tests and a level."""
    if s.regimen("divalproex") is not None or s.regimen("lamotrigine") is None:
        return
    start = s.now - timedelta(days=28)
    s.lab(ctx, "alt", "24", "U/L", s.at(start, -2, "10:00"))
    s.lab(ctx, "ast", "22", "U/L", s.at(start, -2, "10:00"))
    s.lab(ctx, "platelets", "231", "×10⁹/L", s.at(start, -2, "10:00"))
    valproate = s.start(
        ctx,
        "divalproex",
        250,
        ["08:00", "20:00"],
        at=start,
        reason="Hypomanic symptoms again on lamotrigine alone",
        indication="Bipolar disorder, current episode hypomanic",
        override_reason="Lamotrigine stays at 50 mg/day, below the 100 mg/day target with valproate, and "
        "will not be raised without review. Rash warning repeated; liver tests and a level in 2 weeks.",
    )
    _dose_logs(s, valproate)
    s.change(
        ctx,
        valproate,
        "increase",
        at=s.at(start, 7, "00:00"),
        reason="Tolerating 500 mg/day: up to 1000 mg/day",
        dose_mg=500,
        override_reason="Lamotrigine unchanged at 50 mg/day; no rash so far. Valproate level, liver tests "
        "and platelets next week.",
    )
    s.lab(
        ctx,
        "valproate_level",
        "68",
        "µg/mL",
        s.at(start, 14, "08:05"),
        note="Trough, before the morning dose",
    )
    s.lab(ctx, "alt", "31", "U/L", s.at(start, 14, "08:05"))
    s.lab(ctx, "ast", "27", "U/L", s.at(start, 14, "08:05"))
    s.lab(ctx, "platelets", "212", "×10⁹/L", s.at(start, 14, "08:05"))


def kevin(ctx: DemoContext, s: Story) -> None:
    """Aripiprazole added to venlafaxine: metabolic baseline, then weight creeping up (5% by week 12)."""
    if s.regimen("aripiprazole") is not None or s.regimen("venlafaxine") is None:
        return
    start = s.now - timedelta(weeks=12)
    baseline = s.at(start, -2, "09:40")
    for kind, value, unit in (
        ("weight", "81.0", "kg"),
        ("waist", "94", "cm"),
        ("bp_systolic", "124", "mmHg"),
        ("bp_diastolic", "78", "mmHg"),
        ("fasting_glucose", "92", "mg/dL"),
        ("hba1c", "5.4", "%"),
        ("total_cholesterol", "186", "mg/dL"),
        ("ldl", "112", "mg/dL"),
        ("hdl", "47", "mg/dL"),
        ("triglycerides", "136", "mg/dL"),
    ):
        s.lab(ctx, kind, value, unit, baseline)
    aripiprazole = s.start(
        ctx,
        "aripiprazole",
        2,
        ["08:00"],
        at=start,
        reason="Partial response to venlafaxine 150 mg: augmentation",
        indication="Recurrent depressive disorder, severe",
    )
    _dose_logs(s, aripiprazole)
    s.change(
        ctx, aripiprazole, "increase", at=s.at(start, 14, "00:00"), reason="Tolerated; to 5 mg", dose_mg=5
    )
    for days, weight, systolic in ((28, "82.6", "126"), (56, "84.2", "128"), (82, "85.4", "131")):
        s.lab(ctx, "weight", weight, "kg", s.at(start, days, "10:20"))
        s.lab(ctx, "bp_systolic", systolic, "mmHg", s.at(start, days, "10:20"))
    s.lab(ctx, "bp_diastolic", "82", "mmHg", s.at(start, 82, "10:20"))


def _dose_logs(s: Story, regimen: Regimen) -> None:
    """A month of mostly taken doses, as the first part of the demo gives every regimen."""
    from tandem.medications.demo import _doses

    rng = random.Random(f"demo-doses-{regimen.drug_key}")  # noqa: S311 — demo data, not a secret
    _doses(s.patient, regimen, "good", rng, s.now, keep_today=False)


STORIES = (
    ("DC-1001", maya),
    ("DC-1002", jim),
    ("DC-1009", olivia),
    ("DC-1036", victor),
    ("DC-1004", daniel),
    ("DC-1012", rafael),
    ("DC-1034", kevin),
)
