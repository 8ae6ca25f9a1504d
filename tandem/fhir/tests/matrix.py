"""FHIR URLs in the access matrix (tests/test_access_matrix.py): bearer tokens only, so they are
placed as TOKEN; who reaches what, persona by persona, is tested in test_security.py."""

from __future__ import annotations

TOKEN = {"fhir:metadata", "fhir:type", "fhir:search", "fhir:read"}
