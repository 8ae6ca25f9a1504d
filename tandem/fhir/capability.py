"""GET /fhir/metadata: the CapabilityStatement, generated from the registry of resource types."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tandem.fhir.registry import REGISTRY
from tandem.fhir.search import DEFAULT_COUNT, MAX_COUNT, MAX_OFFSET

SOFTWARE_VERSION = "1"
CONTROL_PARAMS_DOC = (
    f"Every search also takes _count (default {DEFAULT_COUNT}, at most {MAX_COUNT}), _offset (paging, "
    f"at most {MAX_OFFSET}; follow the Bundle's next link), _sort (the keys listed per type, '-' for "
    "descending), _include (as listed), _total=none (skip counting) and _format=json. Unknown "
    "parameters, modifiers, sort keys and includes are refused with 400 (strict handling)."
)

# Bulk Data Access (v2): the operations and the transaction interaction (tandem.fhir.bulk_http,
# tandem.fhir.transaction), each served by its own route.
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata"
SYSTEM_EXPORT = {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/export"}
TYPE_OPERATIONS = {
    "Patient": {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/patient-export"},
    "Group": {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/group-export"},
}
TRANSACTION_DOC = (
    "POST /fhir/ with a transaction (all or nothing) or batch Bundle of creates: a Patient (matched "
    "by its MRN in your organisation, or created there) and the resources that may be created, "
    "referring to each other by urn:uuid fullUrls; at most 1000 entries."
)


def capability_statement(base_url: str) -> dict[str, Any]:
    resources = []
    for name in sorted(REGISTRY):
        rtype = REGISTRY[name]
        params = rtype.all_params()
        entry: dict[str, Any] = {
            "type": name,
            "interaction": [{"code": code} for code in rtype.interactions],
            "searchParam": [{"name": p.name, "type": p.type} for p in params.values()],
        }
        docs = [rtype.documentation] if rtype.documentation else []
        if rtype.sorts:
            docs.append("_sort keys: " + ", ".join(sorted(rtype.sorts)) + ".")
        if docs:
            entry["documentation"] = " ".join(docs)
        if rtype.includes:
            entry["searchInclude"] = sorted(rtype.includes)
        if "create" in rtype.interactions:
            entry["conditionalCreate"] = rtype.conditional_create
        if name in TYPE_OPERATIONS:
            entry["operation"] = [TYPE_OPERATIONS[name]]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2025-01-01",
        "publisher": "Tandem",
        "kind": "instance",
        "instantiates": [f"{BULK_DATA}/CapabilityStatement/bulk-data"],
        "software": {"name": "Tandem", "version": SOFTWARE_VERSION},
        "implementation": {"description": "Tandem FHIR R4 API", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": CONTROL_PARAMS_DOC,
                "security": {
                    "cors": False,
                    "description": (
                        "Bearer tokens only (Authorization: Bearer tdm_…, made with `tandem token create`), "
                        "limited by SMART-style scopes such as user/*.read, user/Observation.rs, "
                        "user/QuestionnaireResponse.c; a patient's token with patient/*.read reads their "
                        "own record. The same access policy and audit as the web application."
                    ),
                },
                "resource": resources,
                "interaction": [
                    {"code": "transaction", "documentation": TRANSACTION_DOC},
                    {"code": "batch", "documentation": TRANSACTION_DOC},
                ],
                "operation": [SYSTEM_EXPORT],
            }
        ],
    }


def site_base() -> str:
    return f"{settings.SITE_URL}/fhir"
