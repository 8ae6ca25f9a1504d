"""Errors of the FHIR API, each answered as an OperationOutcome with its HTTP status.

A resource that does not exist and one the caller may not see get the same 404 body, so that
the answer never reveals whether a patient or a record exists.
"""

from __future__ import annotations

from typing import Any


class FhirError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        diagnostics: str,
        *,
        expression: str | None = None,
        issues: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.headers = headers or {}
        self.issues = issues or [issue(code, diagnostics, expression)]

    @property
    def outcome(self) -> dict[str, Any]:
        return {"resourceType": "OperationOutcome", "issue": self.issues}


def issue(
    code: str, diagnostics: str, expression: str | None = None, severity: str = "error"
) -> dict[str, Any]:
    found: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        found["expression"] = [expression]
    return found


def not_found() -> FhirError:
    return FhirError(404, "not-found", "Resource not found.")


def bad_request(diagnostics: str, expression: str | None = None, code: str = "invalid") -> FhirError:
    return FhirError(400, code, diagnostics, expression=expression)
