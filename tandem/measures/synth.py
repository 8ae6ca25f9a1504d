"""Synthetic PHQ-9 and GAD-7 responses for `tandem synth`: every patient answers both every 14
days over the 12 weeks up to the anchor day (7 of each, 1 400 000 rows for 100 000 patients), on
a course drawn per patient — responders, remitters, non-responders and a few who get worse — so
that the treat-to-target job and the trend page can be measured at scale. Item 9 is always 0.
Bulk inserts of `ctx.batch` rows; post_save does not fire for them (`tandem signals` computes the
signals afterwards)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache
from typing import Any

from django.utils import timezone

from tandem.core.seeding import SynthContext
from tandem.measures import definitions
from tandem.measures.models import AdministeredBy, InstrumentResponse, Source
from tandem.measures.rules import score

WEEKS = 12
EVERY_DAYS = 14
# Share of each course (cumulative) and the fraction of the baseline reached by week 8.
COURSES = (
    (0.35, "responder", 0.4),
    (0.55, "remitter", 0.15),
    (0.95, "non_responder", 0.8),
    (1.00, "worse", 1.35),
)


@cache
def _scored(instrument: str, total: int) -> dict[str, Any]:
    """Answers adding up to `total` (item 9 of the PHQ-9 left at 0), scored once per total."""
    defn = definitions.get(instrument)
    links = list(defn.scoring.items)
    fill = links[:-1] if instrument == "phq-9" else links
    values = dict.fromkeys(links, 0)
    left = total
    for link in fill:
        values[link] = min(3, left)
        left -= values[link]
    codes = {
        link: next(o.code for o in defn.options(defn.item(link)) if o.value == v)
        for link, v in values.items()
    }
    result = score(defn, codes)
    return {
        "answers": {link: a.as_dict() for link, a in result.answers.items()},
        "item_values": result.item_values,
        "total": result.total,
        "band": result.band,
        "band_label": result.band_label,
        "flags": dict(result.flags),
        "item9": result.item_values.get("/44260-8") if instrument == "phq-9" else None,
        "version": defn.version,
    }


def generate(ctx: SynthContext) -> None:
    first, last = ctx.patient_id_range
    if last < first:
        return
    rng = ctx.rng
    tz = timezone.get_current_timezone()
    start = datetime.combine(ctx.anchor - timedelta(weeks=WEEKS), time(10, 0), tzinfo=tz)
    points = [start + timedelta(days=EVERY_DAYS * n) for n in range(WEEKS * 7 // EVERY_DAYS + 1)]
    ctx.progress.set_description("measures")
    ctx.progress.reset(total=last - first + 1)
    per_batch = max(1, ctx.batch // (2 * len(points)))
    created = 0
    for batch_start in range(first, last + 1, per_batch):
        stop = min(last, batch_start + per_batch - 1)
        rows = []
        for pid in range(batch_start, stop + 1):
            roll = rng.random()
            _, _course, reached = next(c for c in COURSES if roll < c[0])
            for instrument, top, low, high in (("phq-9", 27, 12, 22), ("gad-7", 21, 9, 17)):
                baseline = rng.randint(low, high)
                for n, at in enumerate(points):
                    weeks = (at - start).days / 7
                    level = 1 + (reached - 1) * min(1.0, weeks / 8)
                    total = max(0, min(top, round(baseline * level) + (rng.randint(-1, 1) if n else 0)))
                    s = _scored(instrument, total)
                    rows.append(
                        InstrumentResponse(
                            patient_id=pid,
                            instrument=instrument,
                            version=s["version"],
                            answers=s["answers"],
                            item_values=s["item_values"],
                            scored=True,
                            total=s["total"],
                            band=s["band"],
                            band_label=s["band_label"],
                            flags=s["flags"],
                            item9=s["item9"],
                            administered_by=AdministeredBy.PATIENT,
                            source=Source.PORTAL,
                            authored_at=at,
                            received_at=at,
                            idempotency_key=f"synth-{instrument}-{n}",
                        )
                    )
        InstrumentResponse.objects.bulk_create(rows, batch_size=ctx.batch)
        created += len(rows)
        ctx.progress.update(stop - batch_start + 1)
    ctx.created["instrument responses"] = ctx.created.get("instrument responses", 0) + created
