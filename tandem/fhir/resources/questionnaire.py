"""Questionnaire: every instrument definition (tandem.measures), as tandem.measures.fhir maps it.
Definitions are not patient data: any token with the scope reads them, unaudited."""

from __future__ import annotations

from functools import cache
from typing import Any

from tandem.fhir.auth import Caller
from tandem.fhir.registry import MemoryType, register
from tandem.fhir.search import Query, StringParam, TokenParam, UriParam
from tandem.measures.definitions import registry
from tandem.measures.fhir import questionnaire


def _url_match(resource: dict[str, Any], token: Any) -> bool:
    return token.code.split("|", 1)[0] == resource.get("url")


def _code_match(resource: dict[str, Any], token: Any) -> bool:
    return any(token.matches(c.get("system"), c.get("code")) for c in resource.get("code") or [])


@register
class QuestionnaireType(MemoryType):
    name = "Questionnaire"
    params = (
        UriParam("url", match=_url_match, doc="urn:tandem:questionnaire:<id>"),
        StringParam("name", get=lambda r: [r.get("name", ""), r.get("title", "")]),
        StringParam("title", get=lambda r: [r.get("title", "")]),
        TokenParam("code", match=_code_match, doc="the LOINC panel, e.g. http://loinc.org|44249-1"),
        TokenParam("status", match=lambda r, t: t.matches(t.system, r.get("status"))),
    )
    sorts = {"_id": "id", "name": "name", "title": "title"}

    def candidates(self, caller: Caller, query: Query) -> list[tuple[int | None, dict[str, Any]]]:
        return [(None, resource) for resource in _all()]


@cache
def _all() -> tuple[dict[str, Any], ...]:
    """The definitions are fixed for the life of the process (checked at start-up)."""
    return tuple(questionnaire(defn) for defn in registry().values())
