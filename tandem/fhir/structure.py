"""Validating many resources of one type with fhir.resources (R4B), as `Model.model_validate`
does, when their repeated parts are the same: an import's QuestionnaireResponses answer the
same questions with the same few answers, line after line.

fhir.resources validates a nested element as `ElementModel.model_validate(element)` — the same
as on its own — and a resource's own validators look at its own fields only. So a resource is
valid exactly when it is valid without its list of repeated elements (`item`) and each of them is
valid on its own; an element found valid once is remembered (by its canonical JSON) and not
validated again. This only says valid or not: for an invalid resource, the full validation
gives the error that names the element.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

try:
    import orjson

    def _key(value: Any) -> bytes:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)

except ImportError:  # the standard library then

    def _key(value: Any) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


MAX_REMEMBERED = 20_000


class RepeatedValidator:
    """Whether a resource validates as `model`, remembering the valid elements of `field`
    (a list of `element` models)."""

    def __init__(self, model: type[BaseModel], field: str, element: type[BaseModel]) -> None:
        self.model = model
        self.field = field
        self.element = element
        self.valid: set[bytes] = set()

    def is_valid(self, resource: dict[str, Any]) -> bool:
        elements = resource.get(self.field)
        if not isinstance(elements, list) or not elements or not all(isinstance(e, dict) for e in elements):
            return self._whole(resource)
        try:
            self.model.model_validate({k: v for k, v in resource.items() if k != self.field})
        except Exception:
            return False
        for element in elements:
            try:
                key = _key(element)
            except (TypeError, ValueError):  # not JSON-like: the whole resource, the usual way
                return self._whole(resource)
            if key in self.valid:
                continue
            try:
                self.element.model_validate(element)
            except Exception:  # ValidationError, or anything else the full validation also meets
                return False
            if len(self.valid) >= MAX_REMEMBERED:
                self.valid.clear()
            self.valid.add(key)
        return True

    def _whole(self, resource: dict[str, Any]) -> bool:
        try:
            self.model.model_validate(resource)
        except Exception:
            return False
        return True
