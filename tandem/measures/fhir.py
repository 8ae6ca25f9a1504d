"""FHIR R4, pure: each definition as a Questionnaire, and a QuestionnaireResponse read into
answers by linkId — or an OperationOutcome whose issues name the element at fault, e.g.
`QuestionnaireResponse.item[3].answer[0].valueCoding.code`.

Answers come as LOINC answer codes (valueCoding), with or without the ordinalValue extension;
LOINC's published forms are accepted as they are (the GAD-7's LA18938-3 "More days than not" is
2, see data/gad-7.json). An ordinalValue that disagrees with its code is refused rather than
believed: the code is what the patient chose. The HTTP endpoints live in the FHIR app.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from tandem.measures.definitions import LOINC, ORDINAL_VALUE, Definition, Item, registry
from tandem.measures.rules import AnswerError, resolve

QR = "QuestionnaireResponse"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
FHIR_TYPES = {"choice": "choice", "integer": "integer", "text": "text"}


@dataclass(frozen=True)
class Issue:
    code: str  # FHIR issue-type: invalid, structure, required, value, code-invalid, not-found, business-rule
    expression: str
    diagnostics: str
    severity: str = "error"


class FhirInputError(ValueError):
    """A resource Tandem will not store; `outcome` is the OperationOutcome to answer with."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{i.expression}: {i.diagnostics}" for i in issues))
        self.issues = issues
        self.field = issues[0].expression
        self.outcome = operation_outcome(issues)


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": i.severity,
                "code": i.code,
                "diagnostics": i.diagnostics,
                "expression": [i.expression],
            }
            for i in issues
        ],
    }


# --- Questionnaire -----------------------------------------------------------------------------


def questionnaire(defn: Definition) -> dict[str, Any]:
    """The definition as a FHIR R4 Questionnaire (a plain dict, valid for fhir.resources)."""
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": defn.id,
        "url": defn.canonical,
        "version": defn.version,
        "name": "".join(ch for ch in defn.short_name.title() if ch.isalnum()),
        "title": defn.name,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "Tandem",
        "description": f"{defn.wording_note} Sources: " + "; ".join(defn.sources),
        "copyright": defn.licence,
        "item": [_q_item(defn, item) for item in defn.items],
    }
    if defn.loinc_panel:
        resource["code"] = [{"system": LOINC, "code": defn.loinc_panel, "display": defn.name}]
    return resource


def _q_item(defn: Definition, item: Item) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "linkId": item.link_id,
        "text": item.text,
        "type": FHIR_TYPES[item.type],
        "required": item.required,
    }
    if item.loinc:
        entry["code"] = [{"system": LOINC, "code": item.loinc}]
    if item.enable_when is not None:
        trigger = defn.item(item.enable_when.link_id)
        option = next(o for o in defn.options(trigger) if o.value == item.enable_when.value)
        entry["enableWhen"] = [
            {
                "question": trigger.link_id,
                "operator": "=",
                "answerCoding": {"system": option.system, "code": option.code, "display": option.display},
            }
        ]
    if item.type == "choice":
        if item.answer_list and defn.answer_lists[item.answer_list].value_set:
            entry["answerValueSet"] = defn.answer_lists[item.answer_list].value_set
        options = []
        for option in defn.options(item):
            row: dict[str, Any] = {
                "valueCoding": {"system": option.system, "code": option.code, "display": option.display}
            }
            if option.value is not None:
                row["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": option.value}]
            options.append(row)
        entry["answerOption"] = options
    elif item.type == "integer":
        entry["extension"] = [
            {"url": MIN_VALUE, "valueInteger": item.min},
            {"url": MAX_VALUE, "valueInteger": item.max},
        ]
    elif item.max_length:
        entry["maxLength"] = item.max_length
    return entry


# --- QuestionnaireResponse ---------------------------------------------------------------------


def find_definition(reference: str) -> Definition | None:
    """The definition a `questionnaire` canonical names: Tandem's own URL, `Questionnaire/<id>`,
    or any URL ending in the instrument id or its LOINC panel (http://loinc.org/q/44249-1, US
    Core's …/Questionnaire/AUDIT-C); a `|version` suffix is ignored."""
    last = reference.split("|", 1)[0].rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower()
    for defn in registry().values():
        if last == defn.id or (defn.loinc_panel and last == defn.loinc_panel):
            return defn
    return None


@dataclass
class ParsedResponse:
    definition: Definition
    answers: dict[str, Any]
    authored_at: datetime | None
    idempotency_key: str
    identifier: str
    sender_total: Any = None
    paths: dict[str, str] = field(default_factory=dict)


def parse_response(
    resource: Any, *, patient_id: int | None = None, structure_checked: bool = False
) -> ParsedResponse:
    """Read a QuestionnaireResponse; FhirInputError lists every problem found. With
    `structure_checked`, the caller has already validated it with fhir.resources (R4B)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != QR:
        raise FhirInputError([Issue("structure", "resourceType", "must be QuestionnaireResponse")])
    if not structure_checked:
        try:
            QuestionnaireResponse.model_validate(resource)
        except ValidationError as exc:
            raise FhirInputError([_structure_issue(e) for e in exc.errors()]) from None
    issues: list[Issue] = []
    defn = find_definition(str(resource.get("questionnaire") or ""))
    if defn is None:
        raise FhirInputError(
            [Issue("not-found", f"{QR}.questionnaire", "names no questionnaire Tandem knows")]
        )
    if resource.get("status") == "entered-in-error":
        issues.append(Issue("business-rule", f"{QR}.status", "an entered-in-error response is not stored"))
    subject = (resource.get("subject") or {}).get("reference")
    if subject and patient_id is not None and subject not in (f"Patient/{patient_id}", str(patient_id)):
        issues.append(Issue("business-rule", f"{QR}.subject", "is not the patient this response is sent for"))
    authored = _authored(resource, issues)
    answers: dict[str, Any] = {}
    paths: dict[str, str] = {}
    sender_total: list[Any] = []
    _walk(defn, resource.get("item") or [], QR, answers, paths, sender_total, issues)
    if not issues:
        try:
            resolve(defn, answers)
        except AnswerError as exc:
            issues += [Issue("code-invalid", paths[link], message) for link, message in exc.errors]
    if issues:
        raise FhirInputError(issues)
    key, identifier = _key(resource)
    return ParsedResponse(
        definition=defn,
        answers=answers,
        authored_at=authored,
        idempotency_key=key,
        identifier=identifier,
        sender_total=sender_total[0] if sender_total else None,
        paths=paths,
    )


def _structure_issue(error: Any) -> Issue:
    where = QR
    for part in error.get("loc", ()):
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return Issue("structure", where, str(error.get("msg", "is not valid")))


def _authored(resource: dict[str, Any], issues: list[Issue]) -> datetime | None:
    text = resource.get("authored")
    if not text:
        return None
    moment = parse_datetime(str(text))
    if moment is None or moment.tzinfo is None:
        issues.append(Issue("value", f"{QR}.authored", "must be a date and time with a time zone"))
        return None
    return moment


def _link(defn: Definition, link_id: str) -> str | None:
    if defn.has_item(link_id):
        return link_id
    if defn.has_item(f"/{link_id}"):  # some senders drop the leading slash of LOINC linkIds
        return f"/{link_id}"
    return None


def _walk(
    defn: Definition,
    items: list[dict[str, Any]],
    parent: str,
    answers: dict[str, Any],
    paths: dict[str, str],
    sender_total: list[Any],
    issues: list[Issue],
) -> None:
    for n, entry in enumerate(items):
        path = f"{parent}.item[{n}]"
        link_id = str(entry.get("linkId", ""))
        if entry.get("item"):  # a group: its questions are read, the group itself is not an answer
            _walk(defn, entry["item"], path, answers, paths, sender_total, issues)
        found = _link(defn, link_id)
        given = entry.get("answer") or []
        if found is None:
            if link_id.lstrip("/") in {c.lstrip("/") for c in defn.computed_link_ids}:
                sender_total.extend(given[:1])  # the sender's own total: kept, never trusted
            elif given:
                issues.append(
                    Issue(
                        "invalid", f"{path}.linkId", f"{link_id!r} is not a question of the {defn.short_name}"
                    )
                )
            continue
        if found in paths:
            issues.append(Issue("invalid", f"{path}.linkId", "this question is answered twice"))
            continue
        paths[found] = f"{path}.answer[0]"
        if len(given) > 1:
            issues.append(Issue("invalid", f"{path}.answer[1]", "this question takes one answer"))
            continue
        if not given:
            continue
        value = _answer(defn, defn.item(found), given[0], f"{path}.answer[0]", issues)
        if value is not None:
            answers[found] = value
            paths[found] += {"choice": ".valueCoding.code", "integer": ".valueInteger"}.get(
                defn.item(found).type, ".valueString"
            )


def _answer(defn: Definition, item: Item, answer: dict[str, Any], path: str, issues: list[Issue]) -> Any:
    if item.type == "choice":
        coding = answer.get("valueCoding")
        if not isinstance(coding, dict):
            issues.append(Issue("invalid", path, "must be a valueCoding with an answer code"))
            return None
        code = coding.get("code")
        if not code:
            issues.append(Issue("required", f"{path}.valueCoding.code", "the answer code is missing"))
            return None
        option = next((o for o in defn.options(item) if o.code == code), None)
        alias = next((a for a in defn.aliases(item) if a.code == code), None)
        if option is None and alias is None:
            issues.append(
                Issue(
                    "code-invalid",
                    f"{path}.valueCoding.code",
                    f"{code!r} is not an answer to question {item.number}",
                )
            )
            return None
        expected_system = option.system if option else alias.system  # type: ignore[union-attr]
        if coding.get("system") and coding["system"] != expected_system:
            issues.append(Issue("code-invalid", f"{path}.valueCoding.system", f"must be {expected_system}"))
            return None
        value = option.value if option else alias.value  # type: ignore[union-attr]
        for k, ext in enumerate(coding.get("extension") or []):
            if ext.get("url") != ORDINAL_VALUE:
                continue
            ordinal = ext.get("valueDecimal", ext.get("valueInteger"))
            if value is None or ordinal is None or float(ordinal) != float(value):
                issues.append(
                    Issue(
                        "value",
                        f"{path}.valueCoding.extension[{k}].valueDecimal",
                        f"ordinalValue {ordinal} disagrees with {code}, which scores {value}",
                    )
                )
                return None
        return code
    if item.type == "integer":
        if "valueInteger" not in answer:
            issues.append(Issue("invalid", path, "must be a valueInteger"))
            return None
        number = answer["valueInteger"]
        if not (item.min is not None and item.max is not None and item.min <= number <= item.max):
            issues.append(
                Issue(
                    "value",
                    f"{path}.valueInteger",
                    f"must be from {item.min} to {item.max}; {number} is out of range",
                )
            )
            return None
        return number
    if "valueString" not in answer:
        issues.append(Issue("invalid", path, "must be a valueString"))
        return None
    return answer["valueString"]


def _key(resource: dict[str, Any]) -> tuple[str, str]:
    """The idempotency key: the identifier when there is one (the same identifier is stored once),
    else a digest of the content, so an identical resend is stored once too."""
    identifier = resource.get("identifier")
    if identifier and identifier.get("value"):
        label = f"{identifier.get('system', '')}|{identifier['value']}"
        if len(label) <= 190:
            return f"fhir:{label}", label
        return "fhir-id:" + hashlib.sha256(label.encode()).hexdigest(), label[:300]
    content = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    return f"fhir-content:{digest}", ""
