"""Schemathesis against /api/: every operation of /api/openapi.json, requests generated from the
schema (valid and invalid), sent to the WSGI application with a patient's token, each response
checked against the schema (no 5xx, a declared status, content type, headers and body).

Deterministic (derandomized, no example database) and bounded (EXAMPLES per operation and mode).
Path ids are replaced by the id of one of Pat's own objects for half the examples, so that the
successful responses are checked too, not only the 404s.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tandem.lib.tests.api_helpers import pats_record, token
from tandem.wsgi import application

EXAMPLES = 25
ALL_SCOPES = "user/*.*"
# Every check but one: the schema cannot say everything a request must be to succeed (that a
# regimen is one of yours, that a plan's goals refer to real measures), so a schema-valid request
# may still be refused with a 422 that names the field at fault.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]
# The operations whose generated requests succeed at least once with Pat's token.
SUCCEEDS = {
    "GET /api/doses/today",
    "GET /api/side-effects",
    "GET /api/questionnaires/due",
    "POST /api/questionnaires/{instrument}/responses",
    "GET /api/messages/threads",
    "GET /api/messages/threads/{thread_id}",
    "POST /api/messages/threads/{thread_id}/messages",
}


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _own_ids(personas, record) -> dict[str, Any]:
    from tandem.plans.models import TreatmentPlan

    plan = TreatmentPlan.objects.filter(patient=personas.patient).first()
    return {
        "thread_id": record.thread.pk,
        "patient_id": personas.patient.pk,
        "plan_id": plan.pk if plan else 1,
        "instrument": "phq-9",
    }


def _fuzz(
    operation: Any, mode: GenerationMode, headers: dict[str, str], own: dict[str, Any], statuses: set[int]
) -> None:
    seen = {"n": 0}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        seen["n"] += 1
        if mode is GenerationMode.POSITIVE and seen["n"] % 2 == 0 and case.path_parameters:
            for name in case.path_parameters:
                if name in own:
                    case.path_parameters[name] = own[name]
        response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
        statuses.add(response.status_code)

    run()


@pytest.fixture
def keep_the_test_connection():
    """Django's test client keeps the test's database connection open across requests; the WSGI
    application called directly (as schemathesis does) would close it when each request ends,
    which on PostgreSQL closes the test's transaction with it."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_operation_conforms_to_the_schema_for_a_patient_app(personas, mode, keep_the_test_connection):
    record = pats_record(personas)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    operations = _operations(schema)
    assert len(operations) >= 17
    headers = {"Authorization": f"Bearer {token(personas.patient_user, ALL_SCOPES)}"}
    own = _own_ids(personas, record)
    failures = []
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        try:
            _fuzz(operation, mode, headers, own, statuses.setdefault(operation.label, set()))
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {str(exc)[:3000]}")
    assert not failures, "\n\n".join(failures)
    if mode is GenerationMode.POSITIVE:  # the successful answers were checked too, not only errors
        succeeded = {label for label, seen in statuses.items() if any(200 <= s < 300 for s in seen)}
        assert succeeded >= SUCCEEDS, sorted(SUCCEEDS - succeeded)
