"""Tokens for the personas and a small world of records around Pat (the personas' patient)."""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from tandem.accounts.actions import do_create_api_token
from tandem.measures.actions import do_record_response
from tandem.measures.models import InstrumentResponse
from tandem.measures.tests.helpers import phq9
from tandem.plans import actions as plan_actions
from tandem.plans.models import TreatmentPlan

FHIR = "application/fhir+json"


def token_for(user: Any, scopes: str = "user/*.read") -> str:
    _, raw = do_create_api_token(user, scopes=scopes, expires_at=None)
    return raw


class Fhir:
    """A test client speaking FHIR with one bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, params: dict[str, Any] | list[tuple[str, str]] | None = None, **headers: str):
        return self.client.get(f"/fhir/{path}", params or {}, headers={**self.headers, **headers})

    def post(self, path: str, body: Any, content_type: str = FHIR, **headers: str):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.client.post(
            f"/fhir/{path}", data, content_type=content_type, headers={**self.headers, **headers}
        )


def fhir_as(personas: Any, name: str, scopes: str = "user/*.read user/*.c") -> Fhir:
    return Fhir(token_for(personas.all()[name], scopes))


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


@dataclass
class World:
    plan: TreatmentPlan
    pat_responses: list[InstrumentResponse]
    oli_response: InstrumentResponse
    extra: dict[str, Any] = field(default_factory=dict)


def world_modules() -> list[Any]:
    """`tests/world_*.py`: each adds its resource types' records with `build(personas, world)` and
    may declare `SEES_PAT` (type → the personas who see Pat's resources of that type)."""
    import tandem.fhir.tests as package

    return [
        importlib.import_module(f"{package.__name__}.{m.name}")
        for m in pkgutil.iter_modules(package.__path__)
        if m.name.startswith("world_")
    ]


def record(patient: Any, user: Any, values: list[int], key: str, days_ago: int) -> InstrumentResponse:
    return do_record_response(
        patient,
        instrument="phq-9",
        answers=phq9(values),
        administered_by="patient",
        source="portal",
        idempotency_key=key,
        acting_user=user,
        authored_at=timezone.now() - timedelta(days=days_ago),
    ).response


def build_world(personas: Any) -> World:
    plan = plan_actions.do_create_plan(
        personas.patient,
        acting_user=personas.prescriber,
        content={
            "problems": [{"key": "p1", "code": "F33.1", "text": "Recurrent depression, moderate"}],
            "goals": [
                {"key": "g1", "kind": "patient", "text": "Sleep through the night"},
                {"key": "g2", "text": "Remission", "measure": "phq9", "comparator": "<", "target": 5},
            ],
        },
    )
    plan_actions.do_set_plan_status(plan, "active", acting_user=personas.prescriber)
    plan.refresh_from_db()
    responses = [
        record(personas.patient, personas.patient_user, [2, 2, 2, 2, 1, 1, 1, 1, 0], "world-pat-1", 40),
        record(personas.patient, personas.patient_user, [1, 1, 1, 1, 1, 1, 0, 0, 0], "world-pat-2", 10),
        record(personas.patient, personas.patient_user, [1, 1, 1, 0, 0, 0, 0, 0, 1], "world-pat-3", 1),
    ]
    oli = record(personas.other_patient, personas.other_patient_user, [3] * 8 + [0], "world-oli-1", 5)
    world = World(plan=plan, pat_responses=responses, oli_response=oli)
    for module in world_modules():
        module.build(personas, world)
    return world
