"""A read, or a search naming its patients, is decided for those patients alone (fhir.policy
`grants`, ResourceType.patient_field): the decisions must be the policy's, persona by persona and
need by need, and the rows those of the search that carries the whole policy."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tandem.accounts.models import ApiToken
from tandem.fhir.auth import Caller
from tandem.fhir.policy import NEEDS, _policy, bases, grants
from tandem.fhir.registry import REGISTRY
from tandem.fhir.search import ReferenceParam
from tandem.fhir.tests.helpers import build_world, fhir_as
from tandem.fhir.tests.test_security import EVERYONE, SEES_PAT, patient_refs
from tandem.fhir.union import UnionType
from tandem.patients.actions import do_break_glass
from tandem.patients.models import Patient

NARROWED = sorted(name for name, rtype in REGISTRY.items() if rtype.patient_field)


def caller_for(personas, persona: str, *, context_only: bool = False) -> Caller:
    user = personas.all()[persona]
    own = Patient.objects.filter(portal_user=user).first()
    return Caller(user, ApiToken(user=user, scopes="user/*.read"), own, patient_context_only=context_only)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
@pytest.mark.parametrize("context_only", [False, True])
def test_each_decision_is_the_policys(personas, persona, context_only):
    do_break_glass(personas.patient, user=personas.colleague, reason="Seen in the emergency room")
    everyone = {personas.patient.pk, personas.other_patient.pk}
    for need in sorted(NEEDS):
        caller = caller_for(personas, persona, context_only=context_only)
        policy = set(_policy(caller, need).values_list("id", flat=True)) & everyone
        one_by_one = {pid for pid in everyone if grants(replace(caller, memo={}), {pid}, need)}
        together = grants(replace(caller, memo={}), everyone, need)
        assert one_by_one == set(together) == policy, (need, persona)
        # The single-patient decision gives the same grounds as the query for several.
        for pid, basis in together.items():
            assert grants(replace(caller, memo={}), {pid}, need)[pid] == basis
            assert bases(replace(caller, memo={}), {pid})[pid].basis == basis.basis


@pytest.mark.django_db
def test_break_glass_and_a_consent_are_grounds(personas):
    pid = personas.patient.pk
    colleague = caller_for(personas, "colleague")
    assert grants(colleague, {pid}, "measures") == {}
    do_break_glass(personas.patient, user=personas.colleague, reason="Seen in the emergency room")
    assert grants(replace(colleague, memo={}), {pid}, "safety")[pid].basis == "break_glass"
    consented = caller_for(personas, "consented")
    assert grants(consented, {pid}, "measures")[pid].basis == "consent"
    assert grants(consented, {pid}, "plan") == {}


def test_a_narrowed_type_filters_its_patient_parameters_on_its_patient_field():
    for name in NARROWED:
        rtype = REGISTRY[name]
        if isinstance(rtype, UnionType):  # each source: every patient parameter on one field
            for source in rtype.sources:
                assert {source.fields[key] for key in rtype.patient_params} == {
                    source.fields[rtype.patient_field]
                }, (name, source)
            continue
        params = rtype.all_params()
        for key in rtype.patient_params:
            param = params[key]
            if isinstance(param, ReferenceParam) and param.field_name:
                assert param.field_name in (
                    rtype.patient_field,
                    "pk" if rtype.patient_field == "id" else "",
                ), (
                    name,
                    key,
                )


@pytest.mark.django_db
@pytest.mark.parametrize("persona", sorted(EVERYONE))
def test_a_search_naming_the_patient_answers_what_the_whole_policy_answers(personas, persona):
    build_world(personas)
    api = fhir_as(personas, persona)
    pat = personas.patient.pk
    for name in NARROWED:
        param = "_id" if name == "Patient" else "patient"
        everything = api.get(name, {"_count": 200}).json()
        expected = sorted(
            e["resource"]["id"]
            for e in everything.get("entry", [])
            if f"Patient/{pat}" in patient_refs(e["resource"])
        )
        named = api.get(name, {param: pat, "_count": 200}).json()
        found = sorted(e["resource"]["id"] for e in named.get("entry", []))
        assert found == expected, (name, persona)
        assert named["total"] == len(found)
        assert bool(found) == (persona in SEES_PAT.get(name, set())) or not expected, (name, persona)
        for rid in found[:3]:  # a read of each is the same resource
            assert api.get(f"{name}/{rid}").json()["id"] == rid
