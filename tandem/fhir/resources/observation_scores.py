"""Observations of category `survey`: the total score of each scored instrument response, with
the instrument's LOINC total-score code, the value, and the severity band as the interpretation;
derived from its QuestionnaireResponse. Ids `score-<response id>`. Needs "measures"."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.resources.common import codesystem, instant, ref, token_q
from tandem.fhir.search import NOTHING, Token
from tandem.fhir.union import Source
from tandem.measures import definitions
from tandem.measures.models import AdministeredBy, InstrumentResponse
from tandem.patients.models import Category

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
STATUS = "http://hl7.org/fhir/observation-status"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@cache
def _by_total_code() -> dict[str, list[str]]:
    """LOINC total-score code → instrument ids."""
    found: dict[str, list[str]] = {}
    for defn in definitions.registry().values():
        if defn.loinc_total:
            found.setdefault(defn.loinc_total["code"], []).append(defn.id)
    return found


def _code_q(token: Token) -> Q:
    if token.system not in (None, LOINC):
        return NOTHING
    if not token.code:
        return Q()
    return Q(instrument__in=_by_total_code().get(token.code, []))


class ScoreSource(Source):
    prefix = "score-"
    need = Category.MEASURES
    fields = {
        "patient": "patient_id",
        "subject": "patient_id",
        "date": "authored_at",
        "_lastUpdated": "received_at",
        "updated": "received_at",
    }
    filters = {
        "category": lambda t: token_q(t, CATEGORY, {"survey": Q()}),
        "code": _code_q,
        "status": lambda t: token_q(t, STATUS, {"final": Q()}),
    }

    def base(self, caller: Caller) -> QuerySet[Any]:
        return InstrumentResponse.objects.filter(
            visible(caller, Category.MEASURES), scored=True, total__isnull=False
        )

    def load(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        return rows.only(
            "pk",
            "patient_id",
            "instrument",
            "total",
            "band",
            "band_label",
            "authored_at",
            "received_at",
            "administered_by",
        )

    def owns(self, row: Any) -> bool:
        return isinstance(row, InstrumentResponse)

    def to_fhir(self, row: InstrumentResponse) -> dict[str, Any]:
        defn = definitions.registry().get(row.instrument)
        name = defn.short_name if defn else row.instrument
        code: dict[str, Any] = {"text": f"{name} total score"}
        if defn and defn.loinc_total:
            code["coding"] = [
                {"system": LOINC, "code": defn.loinc_total["code"], "display": defn.loinc_total["display"]}
            ]
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"{self.prefix}{row.pk}",
            "meta": {"lastUpdated": instant(row.received_at)},
            "status": "final",
            "category": [{"coding": [{"system": CATEGORY, "code": "survey", "display": "Survey"}]}],
            "code": code,
            "subject": ref("Patient", row.patient_id),
            "effectiveDateTime": instant(row.authored_at),
            "issued": instant(row.received_at),
            "valueQuantity": {"value": row.total, "unit": "{score}", "system": UCUM, "code": "{score}"},
            "derivedFrom": [ref("QuestionnaireResponse", row.pk)],
        }
        if row.administered_by == AdministeredBy.PATIENT:
            resource["performer"] = [ref("Patient", row.patient_id)]
        if row.band:
            resource["interpretation"] = [
                {
                    "coding": [{"system": codesystem(f"score-band/{row.instrument}"), "code": row.band}],
                    "text": row.band_label or row.band,
                }
            ]
        return resource
