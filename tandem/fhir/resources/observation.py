"""Observation, category `survey`: the total score of each scored instrument response, with the
instrument's LOINC total-score code, the value, and the severity band as the interpretation;
derived from its QuestionnaireResponse. Ids are `score-<response id>`, leaving room for other
sources of Observations (labs, vital signs) under their own prefixes. Needs "measures".
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.models import Q, QuerySet

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, ResourceType, register
from tandem.fhir.resources.common import codesystem, instant, patient_params, ref, token_q
from tandem.fhir.search import DateParam, Token, TokenParam
from tandem.measures import definitions
from tandem.measures.models import AdministeredBy, InstrumentResponse
from tandem.patients.models import Category

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
STATUS = "http://hl7.org/fhir/observation-status"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PREFIX = "score-"


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
        return Q(pk__in=[])
    if not token.code:
        return Q()
    return Q(instrument__in=_by_total_code().get(token.code, []))


def _category_q(token: Token) -> Q:
    return token_q(token, CATEGORY, {"survey": Q()})


def _status_q(token: Token) -> Q:
    return token_q(token, STATUS, {"final": Q()})


@register
class ObservationType(ResourceType):
    name = "Observation"
    need = Category.MEASURES
    params = (
        *patient_params(),
        TokenParam("category", q=_category_q, doc=f"{CATEGORY}|survey"),
        TokenParam("code", q=_code_q, doc="the LOINC total-score code, e.g. http://loinc.org|44261-6"),
        DateParam("date", "authored_at"),
        TokenParam("status", q=_status_q),
    )
    sorts = {"_id": "pk", "date": "authored_at", "_lastUpdated": "received_at"}
    default_sort = ("-authored_at",)
    includes = {
        "Observation:patient": Include("Patient", lambda r: [str(r.patient_id)]),
        "Observation:subject": Include("Patient", lambda r: [str(r.patient_id)]),
        "Observation:derived-from": Include("QuestionnaireResponse", lambda r: [str(r.pk)]),
    }
    last_updated = "received_at"
    documentation = "Category survey: instrument total scores (ids score-<n>)."

    def queryset(self, caller: Caller) -> QuerySet[Any]:
        return InstrumentResponse.objects.filter(
            visible(caller, Category.MEASURES), scored=True, total__isnull=False
        ).only(
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

    def parse_id(self, rid: str) -> Any | None:
        number = rid.removeprefix(PREFIX)
        if not rid.startswith(PREFIX) or not number.isdigit() or len(number) > 18 or int(number) <= 0:
            return None
        return int(number)

    def _id_q(self, token: Any) -> Q:
        pk = self.parse_id(token.code)
        return Q(pk=pk) if pk is not None else Q(pk__in=[])

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
            "id": f"{PREFIX}{row.pk}",
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
