"""The contract of /api/ as a whole: every response of every operation declared with a schema,
and the same answers for missing credentials, missing scopes and a browser session."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.audit.models import AuditEvent, Outcome
from tandem.lib.tests.api_helpers import PATIENT_APP_SCOPES, app, last_seq, pats_record

ERROR_CODES = {"400", "401", "403", "404", "422"}
# The patient's operations: (method, path, the scope each needs).
PATIENT_OPERATIONS = {
    ("get", "/api/doses/today"): "MedicationAdministration.s",
    ("post", "/api/doses"): "MedicationAdministration.c",
    ("get", "/api/side-effects"): "AdverseEvent.s",
    ("post", "/api/side-effects"): "AdverseEvent.c",
    ("get", "/api/questionnaires/due"): "Questionnaire.s",
    ("post", "/api/questionnaires/{instrument}/responses"): "QuestionnaireResponse.c",
    ("get", "/api/messages/threads"): "Communication.s",
    ("get", "/api/messages/threads/{thread_id}"): "Communication.r",
    ("post", "/api/messages/threads/{thread_id}/messages"): "Communication.c",
}
# A valid body for each write, so that a refusal is about credentials and never about input.
BODIES = {
    "/api/doses": {"regimen": 1, "status": "prn", "reason": "x", "idempotency_key": "contract-01"},
    "/api/side-effects": {
        "symptoms": ["nausea"],
        "frequency": 1,
        "intensity": 1,
        "burden": 1,
        "idempotency_key": "contract-02",
    },
    "/api/questionnaires/{instrument}/responses": {"answers": {}, "idempotency_key": "contract-03"},
    "/api/messages/threads/{thread_id}/messages": {"body": "Hello", "idempotency_key": "contract-04"},
}


def _document() -> dict:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def _url(path: str, record) -> str:
    return path.replace("{thread_id}", str(record.thread.pk)).replace("{instrument}", "phq-9")


def _call(client: Client, method: str, path: str, record, **extra):
    url = _url(path, record)
    if method == "post":
        return client.post(url, BODIES[path], content_type="application/json", **extra)
    return client.get(url, **extra)


@pytest.mark.django_db
def test_every_response_of_every_operation_is_declared_with_a_json_schema():
    document = _document()
    operations = {(m, p): op for p, ops in document["paths"].items() for m, op in ops.items()}
    assert set(PATIENT_OPERATIONS) <= set(operations)
    for (method, path), op in operations.items():
        codes = set(op["responses"])
        expected = ERROR_CODES | ({"409"} if method == "post" else set())
        assert expected <= codes, (method, path, codes)
        assert any(code.startswith("2") for code in codes), (method, path)
        for code, response in op["responses"].items():
            schema = response["content"]["application/json"]["schema"]
            assert schema, (method, path, code)
            if code in ERROR_CODES:
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
        assert op["security"] and op["operationId"] and op["summary"], (method, path)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"] and "errors" in error["properties"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), sorted(PATIENT_OPERATIONS))
def test_without_credentials_it_is_401(personas, method, path):
    record = pats_record(personas)
    response = _call(Client(), method, path, record)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json()) == {"detail", "errors"}


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), sorted(PATIENT_OPERATIONS))
def test_a_token_without_the_scope_is_403_and_audited(personas, method, path):
    record = pats_record(personas)
    needed = PATIENT_OPERATIONS[(method, path)]
    others = " ".join(
        s for s in PATIENT_APP_SCOPES.split() if not s.startswith(f"user/{needed.split('.')[0]}.")
    )
    before = last_seq()
    response = _call(app(personas.patient_user, others), method, path, record)
    assert response.status_code == 403, response.content
    assert needed.split(".")[0] in response.json()["detail"]
    assert AuditEvent.objects.filter(seq__gt=before, outcome=Outcome.DENIED).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), sorted(PATIENT_OPERATIONS))
def test_the_narrowest_scope_is_enough(personas, method, path):
    record = pats_record(personas)
    scope = "user/" + PATIENT_OPERATIONS[(method, path)]
    response = _call(app(personas.patient_user, scope), method, path, record)
    assert response.status_code not in (401, 403), (method, path, response.content)
    assert response.status_code < 500


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), sorted(PATIENT_OPERATIONS))
def test_a_signed_in_patient_writes_with_the_csrf_token_only(personas, method, path):
    record = pats_record(personas)
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.patient_user)
    response = _call(client, method, path, record)
    if method == "get":
        assert response.status_code == 200
        return
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    client.get("/portal/")  # sets the csrftoken cookie
    response = _call(client, method, path, record, headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert response.status_code not in (401, 403)
    assert response.status_code < 500
