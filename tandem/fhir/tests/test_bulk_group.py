"""Group: the caseloads and organisations a Group export names, read-only, each Group seen only
by whom it concerns and listing only the members its reader may open."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.group import Group

from tandem.audit.models import Action, AuditEvent
from tandem.fhir.tests.helpers import fhir_as, ids


def members(resource: dict) -> set[str]:
    return {m["entity"]["reference"] for m in resource.get("member", [])}


@pytest.mark.django_db
def test_a_clinician_reads_their_caseload_and_their_organisation(personas):
    api = fhir_as(personas, "therapist")
    caseload = api.get(f"Group/caseload-{personas.therapist.pk}")
    assert caseload.status_code == 200
    Group.model_validate(caseload.json())
    pat = f"Patient/{personas.patient.pk}"
    assert members(caseload.json()) == {pat}
    org = api.get(f"Group/org-{personas.home.pk}").json()
    assert members(org) == {pat}  # Oli is in the organisation, but not the therapist's to open
    assert sorted(ids(api.get("Group").json())) == sorted(
        [f"caseload-{personas.therapist.pk}", f"org-{personas.home.pk}"]
    )
    reads = AuditEvent.objects.filter(action=Action.READ, entity_type="Group", patient=personas.patient)
    assert reads.count() == 3


@pytest.mark.django_db
def test_an_administrator_sees_every_caseload_and_patient_of_their_organisation(personas):
    api = fhir_as(personas, "org_admin")
    org = api.get(f"Group/org-{personas.home.pk}").json()
    assert members(org) == {f"Patient/{personas.patient.pk}", f"Patient/{personas.other_patient.pk}"}
    colleague = api.get(f"Group/caseload-{personas.colleague.pk}").json()
    assert members(colleague) == {f"Patient/{personas.other_patient.pk}"}
    found = ids(api.get("Group", {"member": f"Patient/{personas.other_patient.pk}"}).json())
    assert sorted(found) == sorted([f"caseload-{personas.colleague.pk}", f"org-{personas.home.pk}"])


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["outsider", "colleague", "patient", "consented"])
def test_others_get_the_404_of_a_missing_group(personas, persona):
    api = fhir_as(personas, persona)
    missing = api.get("Group/caseload-999999")
    assert missing.status_code == 404
    assert api.get(f"Group/caseload-{personas.therapist.pk}").content == missing.content
    if persona in ("outsider", "patient", "consented"):
        assert api.get(f"Group/org-{personas.home.pk}").status_code == 404


@pytest.mark.django_db
def test_groups_cannot_be_created(personas):
    api = fhir_as(personas, "org_admin")
    assert api.post("Group", {"resourceType": "Group"}).status_code == 405
