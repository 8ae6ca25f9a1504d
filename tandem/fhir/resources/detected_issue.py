"""DetectedIssue: each prescribing check shown when a regimen was started or changed, as recorded
with that change (tandem.medications RegimenVersion.findings) — what kind of check, how severe,
what it said, the rule's source, the MedicationRequest it concerns and, when the prescriber went
ahead over it, their reason (the mitigation). Needs "medications".

Ids are `<change id>-<n>`: the n-th finding recorded with one change. The findings of the
changes the caller may see are built in memory (a patient's changes with findings are few),
narrowed in the database first by patient, _id, identified and implicated.

`code` is the kind of check in Tandem's code system (interaction, duplicate, dose, age, genetic,
monitoring, unchecked), with its HL7 v3 ActCode where one fits (DRG, DUPTHPY, DOSEH, AGE).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.db.models import F, Q

from tandem.fhir.auth import Caller
from tandem.fhir.policy import visible
from tandem.fhir.registry import Include, MemoryType, register
from tandem.fhir.resources.common import codesystem, instant, ref
from tandem.fhir.search import DateParam, Query, ReferenceParam, TokenParam
from tandem.medications.models import RegimenVersion
from tandem.medications.rules import DOSE_CAPS, HLA_B1502, INTERACTIONS, MONITORING_PROMPTS
from tandem.patients.models import Category

ACTCODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
KINDS = {
    "interaction": ("Drug interaction", ("DRG", "Drug Interaction Alert")),
    "duplicate": ("Duplicate therapy", ("DUPTHPY", "Duplicate Therapy Alert")),
    "dose": ("Dose", ("DOSEH", "High Dose Alert")),
    "age": ("Age", ("AGE", "Age Alert")),
    "genetic": ("Genetic test", None),
    "monitoring": ("Monitoring", None),
    "unchecked": ("Medicine not checked", None),
    "other": ("Prescribing check", None),
}
# The checks' severities → DetectedIssue.severity.
SEVERITY = {"contraindicated": "high", "major": "high", "moderate": "moderate", "info": "low"}
_URL = re.compile(r"https?://[^\s)\]]+")


@cache
def _kinds() -> dict[str, str]:
    found = {i.rule_id: "interaction" for i in INTERACTIONS}
    found |= {f"{i.rule_id}-washout": "interaction" for i in INTERACTIONS}
    found |= {c.rule_id: "dose" for c in DOSE_CAPS}
    found |= {p.rule_id: "monitoring" for p in MONITORING_PROMPTS}
    found |= {rule_id: "genetic" for rule_id, _, _ in HLA_B1502.values()}
    found |= {
        "duplicate-class": "duplicate",
        "duplicate-ingredient": "duplicate",
        "dose-above-range": "dose",
        "lamotrigine-initial-dose": "dose",
        "lamotrigine-retitrate": "dose",
        "antidepressant-under-25": "age",
        "unchecked-medicine": "unchecked",
    }
    return found


def check_kind(rule_id: str) -> str:
    return _kinds().get(rule_id, "other")


def kind_system() -> str:
    return codesystem("prescribing-check")


def rule_system() -> str:
    return codesystem("prescribing-rule")


def _patient(resource: dict[str, Any]) -> str | None:
    return (resource.get("patient") or {}).get("reference")


def _implicated(resource: dict[str, Any]) -> str | None:
    return next((r.get("reference") for r in resource.get("implicated", [])), None)


def _code_match(resource: dict[str, Any], token: Any) -> bool:
    return bool(token.matches_concept(resource.get("code")))


def issue(version: Any, index: int, finding: dict[str, Any], patient_id: int) -> dict[str, Any]:
    rule_id = str(finding.get("rule_id") or "")
    kind = check_kind(rule_id)
    label, act = KINDS[kind]
    codings = [{"system": kind_system(), "code": kind, "display": label}]
    if act is not None:
        codings.append({"system": ACTCODE, "code": act[0], "display": act[1]})
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": f"{version.pk}-{index}",
        "status": "final",
        "code": {"coding": codings, "text": str(finding.get("title") or label)},
        "severity": SEVERITY.get(str(finding.get("severity")), "low"),
        "patient": ref("Patient", patient_id),
        "identifiedDateTime": instant(version.created_at),
        "implicated": [ref("MedicationRequest", version.regimen_id)],
    }
    if finding.get("message"):
        resource["detail"] = str(finding["message"])
    source = str(finding.get("source") or "")
    url = _URL.search(source)
    if url:
        resource["reference"] = url.group(0)
    evidence: dict[str, Any] = {"coding": [{"system": rule_system(), "code": rule_id}]} if rule_id else {}
    if source:
        evidence["text"] = source
    if evidence:
        resource["evidence"] = [{"code": [evidence]}]
    needed = [bool(f.get("requires_override_reason")) for f in version.findings]
    if version.override_reason and (finding.get("requires_override_reason") or not any(needed)):
        mitigation: dict[str, Any] = {
            "action": {"text": f"Prescribed over this check: {version.override_reason}"},
            "date": instant(version.created_at),
        }
        if version.author_id:
            mitigation["author"] = ref("Practitioner", version.author_id)
        resource["mitigation"] = [mitigation]
    return resource


@register
class DetectedIssueType(MemoryType):
    name = "DetectedIssue"
    need = Category.MEDICATIONS
    params = (
        ReferenceParam("patient", "regimen__patient_id", get=_patient),
        DateParam("identified", "created_at", get=lambda r: r.get("identifiedDateTime")),
        TokenParam("code", match=_code_match, doc="the kind of check, or its ActCode (DRG, DUPTHPY…)"),
        ReferenceParam("implicated", "regimen_id", target="MedicationRequest", get=_implicated),
    )
    patient_params = ("patient",)
    sorts = {"_id": "id", "identified": "identifiedDateTime"}
    default_sort = ("-identifiedDateTime",)
    includes = {
        "DetectedIssue:patient": Include("Patient", lambda row: [str(row[0])]),
        "DetectedIssue:implicated": Include(
            "MedicationRequest",
            lambda row: [r["reference"].split("/", 1)[1] for r in row[1].get("implicated", [])],
        ),
    }
    documentation = "Prescribing checks recorded with each start or change (ids <change>-<n>)."

    def candidates(self, caller: Caller, query: Query) -> list[tuple[int | None, dict[str, Any]]]:
        versions = (
            RegimenVersion.objects.filter(visible(caller, Category.MEDICATIONS, "regimen__patient_id"))
            .exclude(findings=[])
            .annotate(patient_pk=F("regimen__patient_id"))
            .only("pk", "regimen_id", "created_at", "findings", "override_reason", "author_id")
        )
        for param, values in query.filters:
            if param.name == "code":
                continue  # compared in memory, on the resources
            condition = Q(pk__in=[])
            for value in values:
                condition |= self._version_q(value) if param.name == "_id" else param.q(value)
            versions = versions.filter(condition)
        found: list[tuple[int | None, dict[str, Any]]] = []
        for version in versions.order_by("-created_at", "-pk"):
            for index, finding in enumerate(version.findings):
                if isinstance(finding, dict):
                    found.append((version.patient_pk, issue(version, index, finding, version.patient_pk)))
        return found

    def _version_q(self, token: Any) -> Q:
        head, dash, tail = str(token.code).partition("-")
        if not dash or not head.isdigit() or len(head) > 18 or not tail.isdigit():
            return Q(pk__in=[])
        return Q(pk=int(head))
