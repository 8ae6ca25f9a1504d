"""Alerts in the access matrix (tests/test_access_matrix.py).

The patient-scoped alert pages are placed in the shared matrix; here: the routing rules are the
organisation admin's; the digest settings are every clinician's own.
"""

from __future__ import annotations

ORG_ADMIN = {"collab:routing": "GET", "collab:routing_edit": "GET", "collab:routing_reset": "POST"}
ORG_ADMIN_KWARGS = {
    "collab:routing_edit": lambda p: {"kind": "side_effect"},
    "collab:routing_reset": lambda p: {"kind": "side_effect"},
}
CLINICIAN_ONLY = {"collab:digest_settings": "GET"}
