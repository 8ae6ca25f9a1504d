"""The default thresholds of every lab kind, with their sources (read through
`tandem.medications.labs.thresholds`, which applies the settings' overrides on top).

Cuts that clinical-facts.md does not give are general reference values, marked unverified.
"""

from __future__ import annotations

from tandem.medications.labs import (
    APA_2020,
    DEFAULT_TARGET,
    DERIVED_LITHIUM_CRITICAL,
    GENERAL,
    LITHIUM_OLD_LABEL,
    Cut,
    Note,
    Op,
    Target,
    _cut,
    _src,
)


def _t(key: str, label: str, reference: str, *cuts: Cut) -> Target:
    return Target(key, label, reference, cuts)


def _one(reference: str, *cuts: Cut) -> tuple[Target, ...]:
    return (_t(DEFAULT_TARGET, "", reference, *cuts),)


def _general(key: str, value: str, why: str, op: Op | None = None) -> Cut:
    return _cut(key, value, why, GENERAL, op)


def default_thresholds() -> dict[str, tuple[tuple[Target, ...], tuple[Note, ...]]]:
    """kind → (its targets, the first being the default; its notes)."""
    guideline = _src("lithium-guideline")
    lithium_critical = _cut(
        "critical_high", "1.5", "the top of the older label's acute-mania range", DERIVED_LITHIUM_CRITICAL
    )
    valproate, anc_schedule, cbz = (
        _src("valproate-levels"),
        _src("clozapine-anc-schedule"),
        _src("carbamazepine-unconfirmed"),
    )
    ada_apa = _src("ada-apa-2004")
    liver_note = Note(
        "Valproate: liver tests before starting and at frequent intervals, above all in the first 6 months.",
        _src("valproate-label"),
    )
    return {
        "lithium_level": (
            (
                _t(
                    "maintenance",
                    "maintenance",
                    "0.4–0.8 mmol/L",
                    lithium_critical,
                    _cut(
                        "high",
                        "0.8",
                        "the top of the maintenance range, 0.4–0.8; the acute-mania range is 0.8–1.0",
                        guideline,
                    ),
                    _cut("low", "0.4", "the bottom of the maintenance range, 0.4–0.8", guideline),
                ),
                _t(
                    "acute",
                    "acute mania",
                    "0.8–1.0 mmol/L",
                    lithium_critical,
                    _cut("high", "1.0", "the top of the acute-mania range, 0.8–1.0", guideline),
                    _cut("low", "0.8", "the bottom of the acute-mania range, 0.8–1.0", guideline),
                ),
            ),
            (
                Note(
                    "Take the level at steady state (about 5 days after a change), 12 hours after the last "
                    "dose. Maintenance 0.4–0.8 mmol/L; mania 0.8–1.0 mmol/L.",
                    guideline,
                ),
                Note(
                    "Older label: acute mania 1.0–1.5 mEq/L, long-term 0.6–1.2 mEq/L. Current labels give "
                    "other targets, not re-read.",
                    LITHIUM_OLD_LABEL,
                ),
                Note(
                    "Boxed warning: toxicity is closely related to the serum level and can occur at doses "
                    "close to therapeutic concentrations.",
                    _src("lithium-label"),
                ),
            ),
        ),
        "valproate_level": (
            _one(
                "45–125 µg/mL",
                _cut("high", "125", "where adverse effects concentrate", valproate, op=">="),
                _cut("low", "45", "the bottom of the range associated with response in mania", valproate),
            ),
            (
                Note("Levels in mania: 45–100 (up to 125) µg/mL (Bowden 1996).", valproate),
                Note(
                    "Thrombocytopenia rises with a trough above 110 µg/mL in women and 135 in men: check "
                    "platelets.",
                    _src("valproate-platelets"),
                ),
            ),
        ),
        "carbamazepine_level": (
            _one(
                "about 4–12 µg/mL (not confirmed)",
                _cut("high", "12", "the top of the usual range, not confirmed", cbz),
                _cut("low", "4", "the bottom of the usual range, not confirmed", cbz),
            ),
            (),
        ),
        "anc": (
            _one(
                "1500/µL or more",
                _cut(
                    "critical_low",
                    "500",
                    "severe neutropenia, as the boxed warning defines it",
                    _src("clozapine-label"),
                ),
                _cut("low", "1500", "the classic clozapine baseline threshold", anc_schedule),
            ),
            (
                Note(
                    "The classic schedule allowed a baseline of 1000/µL in benign ethnic neutropenia.",
                    anc_schedule,
                ),
                Note(
                    "Since 24 February 2025 pharmacies no longer need ANC results before dispensing clozapine: "
                    "the team must track them.",
                    _src("clozapine-rems-ended"),
                ),
            ),
        ),
        "platelets": (_one("150–450 ×10⁹/L", _general("low", "150", "the usual lower limit")), ()),
        "creatinine": (_one("your laboratory's range: it depends on sex and muscle mass"), ()),
        "egfr": (_one("60 or more", _general("low", "60", "moderately reduced kidney function")), ()),
        "tsh": (
            _one(
                "0.4–4.5 mIU/L",
                _general("high", "4.5", "the usual upper limit"),
                _general("low", "0.4", "the usual lower limit"),
            ),
            (
                Note(
                    "Lithium: thyroid function at baseline, then every 3–6 months (or yearly).",
                    _src("lithium-baseline"),
                ),
            ),
        ),
        "sodium": (
            _one(
                "135–145 mmol/L",
                _general("critical_low", "125", "severe hyponatraemia"),
                _general("low", "135", "the usual lower limit"),
                _general("high", "145", "the usual upper limit"),
            ),
            (Note("Hyponatraemia with carbamazepine is not confirmed.", cbz),),
        ),
        "calcium": (
            _one(
                "8.5–10.5 mg/dL",
                _general("high", "10.5", "the usual upper limit"),
                _general("low", "8.5", "the usual lower limit"),
            ),
            (Note("Lithium: calcium at baseline, then yearly.", _src("lithium-baseline")),),
        ),
        "alt": (
            _one("up to about 40 U/L", _general("high", "120", "3 times a typical upper limit of 40")),
            (liver_note,),
        ),
        "ast": (
            _one("up to about 40 U/L", _general("high", "120", "3 times a typical upper limit of 40")),
            (liver_note,),
        ),
        "total_cholesterol": (
            _one("below 200 mg/dL", _general("high", "240", "the usual 'high' cut-off", ">=")),
            (),
        ),
        "ldl": (_one("below 130 mg/dL", _general("high", "160", "the usual 'high' cut-off", ">=")), ()),
        "hdl": (_one("40 mg/dL or more", _general("low", "40", "the usual 'low' cut-off")), ()),
        "triglycerides": (
            _one("below 150 mg/dL", _general("high", "150", "the usual fasting upper limit", ">=")),
            (Note("500 mg/dL or more is very high (risk of pancreatitis).", GENERAL),),
        ),
        "hba1c": (
            _one("below 5.7%", _general("high", "6.5", "the usual diabetes threshold", ">=")),
            (
                Note("5.7–6.4% is usually called prediabetes.", GENERAL),
                Note("After an antipsychotic start: glucose or HbA1c at 4 months, then annually.", APA_2020),
            ),
        ),
        "fasting_glucose": (
            _one(
                "70–99 mg/dL",
                _general("high", "126", "the usual fasting diabetes threshold", ">="),
                _general("low", "70", "hypoglycaemia"),
            ),
            (Note("Consider switching an antipsychotic if glycaemia or lipids worsen.", ada_apa),),
        ),
        "weight": (
            _one(
                "less than 5% above the baseline",
                _cut("gain", "5", "a gain of 5% or more; consider switching the antipsychotic", ada_apa),
            ),
            (
                Note(
                    "The baseline is the last weight recorded up to 7 days after an antipsychotic was started. "
                    "Weigh at 4, 8 and 12 weeks, then quarterly.",
                    ada_apa,
                ),
                Note("BMI at every visit for 6 months, then at least quarterly.", APA_2020),
            ),
        ),
        "bmi": (_one("18.5–29.9 kg/m²", _general("high", "30", "obesity", ">=")), ()),
        "waist": (_one("your organisation's cut-offs: they depend on sex and ancestry"), ()),
        "bp_systolic": (
            _one(
                "below 140 mmHg",
                _general("critical_high", "180", "a hypertensive crisis", ">="),
                _general("high", "140", "hypertension", ">="),
            ),
            (),
        ),
        "bp_diastolic": (
            _one(
                "below 90 mmHg",
                _general("critical_high", "120", "a hypertensive crisis", ">="),
                _general("high", "90", "hypertension", ">="),
            ),
            (),
        ),
        "qtc": (
            _one(
                "up to 450 ms",
                _general("critical_high", "500", "a high risk of torsades de pointes"),
                _general("high", "450", "a prolonged QTc"),
            ),
            (
                Note(
                    "Citalopram: not above 40 mg/day; at most 20 mg/day over 60 (FDA 2011–12, not re-read).",
                    _src("citalopram-fda"),
                ),
            ),
        ),
    }
