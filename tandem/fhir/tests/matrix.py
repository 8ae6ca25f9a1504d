"""FHIR URLs in the access matrix (tests/test_access_matrix.py): bearer tokens only, so they are
placed as TOKEN; who reaches what, persona by persona, is tested in test_security.py (and the
Bulk Data and transaction routes in test_bulk_export.py and test_transaction.py)."""

from __future__ import annotations

TOKEN = {
    "fhir:metadata",
    "fhir:type",
    "fhir:search",
    "fhir:read",
    "fhir:root",
    "fhir:export",
    "fhir:export_patient",
    "fhir:export_group",
    "fhir:export_status",
    "fhir:export_file",
}
