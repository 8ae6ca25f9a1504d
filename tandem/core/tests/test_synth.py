from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings

from tandem.accounts.models import Membership, Organisation, Role, User
from tandem.accounts.synth import BENCH_EMAIL, CASELOAD
from tandem.audit.models import AuditEvent
from tandem.patients.access import patients_for_clinician
from tandem.patients.models import CareTeamMember, Patient

pytestmark = pytest.mark.django_db


def synth(patients: int, seed: int) -> str:
    out = StringIO()
    call_command("synth", patients=patients, seed=seed, no_progress=True, stdout=out, stderr=StringIO())
    return out.getvalue()


def fingerprint(seed: int) -> list[tuple[object, ...]]:
    teams: dict[str, list[tuple[object, ...]]] = {}
    for mrn, role, email, start in CareTeamMember.objects.filter(
        patient__mrn__startswith=f"S{seed}-"
    ).values_list("patient__mrn", "role", "user__email", "start"):
        teams.setdefault(mrn, []).append((role, email, start))
    rows = Patient.objects.filter(mrn__startswith=f"S{seed}-").values_list(
        "mrn", "given_name", "family_name", "date_of_birth", "time_zone"
    )
    return [(*row, sorted(teams[row[0]])) for row in rows.order_by("mrn")]


def synth_and_forget(patients: int, seed: int) -> list[tuple[object, ...]]:
    """The fingerprint of a run into an otherwise empty database, which is then rolled back."""
    with transaction.atomic():
        synth(patients, seed)
        result = fingerprint(seed)
        transaction.set_rollback(True)
    return result


def test_it_creates_organisations_clinicians_patients_and_care_teams() -> None:
    output = synth(300, seed=7)

    org = Organisation.objects.get(slug="synthetic-s7-1")
    assert org.name == "Synthetic Health 1 (seed 7)"
    assert Patient.objects.filter(organisation=org).count() == 300
    # The benchmark care manager, 2 more care managers, 5 therapists, 2 prescribers, 1 consultant.
    roles = Counter(Membership.objects.filter(organisation=org).values_list("role", flat=True))
    assert roles == {
        Role.CARE_MANAGER: 3,
        Role.THERAPIST: 5,
        Role.PRESCRIBER: 2,
        Role.PSYCHIATRIC_CONSULTANT: 1,
    }
    assert CareTeamMember.objects.filter(organisation=org).count() == 1200
    for role in CASELOAD:
        assert CareTeamMember.objects.filter(role=role).values("patient").distinct().count() == 300
    assert "300 patients" in output
    assert User.objects.filter(email="cm0001.s7@synth.tandem").exists()


def test_it_keeps_caseloads_near_their_targets() -> None:
    synth(300, seed=7)

    for role, target in CASELOAD.items():
        loads = Counter(CareTeamMember.objects.filter(role=role).values_list("user__email", flat=True))
        loads.pop(BENCH_EMAIL, None)
        assert max(loads.values()) <= target
        assert max(loads.values()) - min(loads.values()) <= 1


def test_it_gives_every_synthetic_user_the_demo_password() -> None:
    synth(300, seed=7)

    users = User.objects.filter(email__endswith="@synth.tandem")
    assert len({u.password for u in users}) == 1
    user = users.first()
    assert user is not None
    assert user.check_password("tandem-demo")


def test_it_gives_the_benchmark_care_manager_the_first_120_patients() -> None:
    synth(300, seed=7)

    bench = User.objects.get(email=BENCH_EMAIL)
    mrns = set(patients_for_clinician(bench).values_list("mrn", flat=True))
    assert mrns == {f"S7-{i:07d}" for i in range(1, 121)}


def test_it_makes_the_same_population_for_the_same_seed() -> None:
    first = synth_and_forget(300, seed=11)
    second = synth_and_forget(300, seed=11)

    assert len(first) == 300
    assert first == second


def test_it_makes_a_different_population_for_another_seed() -> None:
    first = synth_and_forget(300, seed=11)
    other = synth_and_forget(300, seed=12)

    def strip_seed(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [row[1:5] for row in rows]

    assert strip_seed(first) != strip_seed(other)


def test_it_splits_a_large_population_into_organisations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tandem.accounts.synth.PATIENTS_PER_ORG", 100)

    synth(250, seed=3)

    sizes = [Patient.objects.filter(organisation=org).count() for org in Organisation.objects.order_by("id")]
    assert sizes == [100, 100, 50]
    memberships = set(Membership.objects.values_list("user_id", "organisation_id"))
    for member in CareTeamMember.objects.select_related("patient"):
        assert member.organisation_id == member.patient.organisation_id
        assert (member.user_id, member.organisation_id) in memberships


def test_it_records_one_audit_event() -> None:
    synth(300, seed=7)

    event = AuditEvent.objects.get(entity_type="SynthData")
    assert event.actor_label == "tandem synth"
    assert event.extra["seed"] == 7
    assert event.extra["bench_clinician"] == BENCH_EMAIL
    assert event.extra["created"]["patients"] == 300


def test_it_refuses_a_seed_that_is_already_there() -> None:
    synth(150, seed=5)

    with pytest.raises(CommandError, match="seed 5 already exists"):
        synth(150, seed=5)
    assert Patient.objects.count() == 150


def test_it_gives_a_second_seed_its_own_benchmark_care_manager() -> None:
    synth(150, seed=5)
    synth(150, seed=6)

    second = User.objects.get(email="bench.cm.s6@synth.tandem")
    assert patients_for_clinician(second).count() == 120
    assert patients_for_clinician(User.objects.get(email=BENCH_EMAIL)).count() == 120


@override_settings(PRODUCTION=True)
def test_it_refuses_to_run_in_production() -> None:
    with pytest.raises(CommandError, match="production"):
        synth(150, seed=5)
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_every_synthetic_patient_gets_an_active_plan_and_the_bench_patient_a_portal_account():
    from tandem.plans.models import PlanStatus, TreatmentPlan

    call_command("synth", patients=300, seed=11, no_progress=True, stdout=StringIO())
    assert TreatmentPlan.objects.filter(status=PlanStatus.ACTIVE, current__number=2).count() == 300
    bench = Patient.objects.get(portal_user__email="bench.patient@synth.tandem")
    assert bench.care_team.filter(user__email="bench.cm@synth.tandem").exists()
