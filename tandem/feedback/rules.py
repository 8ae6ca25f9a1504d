"""When a visit's feedback needs its clinician's attention: pure rules, no database.

Two rules, each with its id and why:

- **Low score** (`feedback.low`): overall ≤ LOW_OVERALL, or any rating ≤ LOW_ITEM. On a 0–10
  scale, an overall rating of 5 or less says the visit was at best neither helpful nor unhelpful,
  and a 3 or less on a single item is a clear "no" to it (feeling heard, working on one's own
  goals, a fitting approach). Alliance-feedback practice acts on exactly these signals: the
  Session Rating Scale flags totals below 36 of 40 ("clients who score below 36 are indicating a
  dissatisfaction with the session", OpenFIT knowledge base KA-01028), i.e. an average below 9
  per scale. Our items are Tandem's own wording, not the SRS, so its cut-off does not transfer;
  these thresholds are deliberately lower, so that an alert means a real problem rather than
  the usual ceiling effect of satisfaction ratings. Unverified: change them here.
- **Drop** (`feedback.drop`): the overall rating falls DROP_POINTS or more below the mean of the
  same clinician-patient pair's previous DROP_WINDOW overall ratings. Feedback-informed treatment
  reads a client's ratings against their own earlier ones (a fall matters even from a high
  level); three points is 30 % of the scale, well beyond the one-point wobble between visits.
  Needs at least one earlier rating; fewer than DROP_WINDOW use the ones there are. Unverified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

LOW_OVERALL = 5
LOW_ITEM = 3
DROP_POINTS = 3
DROP_WINDOW = 3
SOURCE = (
    "Tandem rule (unverified), modelled on alliance feedback in Feedback-Informed Treatment; "
    "SRS cut-off 36/40 for comparison: OpenFIT knowledge base KA-01028"
)


@dataclass(frozen=True)
class Finding:
    rule_id: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"rule_id": self.rule_id, "reason": self.reason}


def evaluate(
    ratings: Mapping[str, int], previous_overall: Sequence[int], *, labels: Mapping[str, str] | None = None
) -> list[Finding]:
    """The findings for one feedback: `ratings` by item id (including "overall"),
    `previous_overall` the pair's earlier overall ratings, newest first."""
    labels = labels or {}
    findings: list[Finding] = []
    overall = ratings["overall"]
    low_items = [k for k, v in ratings.items() if k != "overall" and v <= LOW_ITEM]
    if overall <= LOW_OVERALL or low_items:
        parts = []
        if overall <= LOW_OVERALL:
            parts.append(f"overall {overall} (≤ {LOW_OVERALL})")
        parts += [f"{labels.get(k, k)} {ratings[k]} (≤ {LOW_ITEM})" for k in low_items]
        findings.append(Finding("feedback.low", "Low rating: " + ", ".join(parts) + "."))
    window = list(previous_overall[:DROP_WINDOW])
    if window:
        mean = Decimal(sum(window)) / len(window)
        if mean - overall >= DROP_POINTS:
            shown = mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            findings.append(
                Finding(
                    "feedback.drop",
                    f"Overall {overall} is {DROP_POINTS} or more below the mean of the previous "
                    f"{len(window)} ({shown}).",
                )
            )
    return findings
