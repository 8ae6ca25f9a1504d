"""A prepared lookup answers exactly what `queryset.first()` answers, for every value it is given."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.lib.prepared import PreparedLookup
from tandem.medications.actions import do_change_regimen, do_start_regimen
from tandem.medications.models import Regimen, RegimenVersion
from tandem.patients.models import Patient

pytestmark = pytest.mark.django_db

OWN = PreparedLookup(
    lambda pk, user_id: Regimen.objects.select_related("patient").filter(
        pk=pk, patient__portal_user_id=user_id, patient__is_active=True
    ),
    pk=int,
    user_id=int,
)
AT = PreparedLookup(
    lambda regimen_id, moment: (
        RegimenVersion.objects.filter(regimen_id=regimen_id, effective_at__lte=moment)
        .order_by("-effective_at", "-number")
        .only("regimen", "status", "dose_amount")
    ),
    regimen_id=int,
    moment=datetime,
)


def _regimen(personas):
    started = timezone.now() - timedelta(days=10)
    regimen = do_start_regimen(
        personas.patient,
        drug_key="sertraline",
        drug_name="sertraline",
        drug_classes=["ssri"],
        dose_amount=50,
        times=["08:00"],
        reason="Depression",
        acting_user=personas.prescriber,
        effective_at=started,
    )
    do_change_regimen(
        regimen,
        kind="increase",
        dose_amount=100,
        times=["08:00"],
        reason="Partial response",
        acting_user=personas.prescriber,
        effective_at=started + timedelta(days=5),
    )
    return regimen, started


def test_the_same_objects_as_the_queryset_with_their_related_rows(personas):
    regimen, _ = _regimen(personas)
    user = personas.patient_user.pk
    found = OWN.first(pk=regimen.pk, user_id=user)
    assert found is not None and found.pk == regimen.pk and found.drug_name == "sertraline"
    # select_related: the patient comes with it, in the same query.
    with CaptureQueriesContext(connection) as ctx:
        assert found.patient.pk == personas.patient.pk
    assert len(ctx.captured_queries) == 0
    assert OWN.first(pk=regimen.pk, user_id=personas.other_patient_user.pk) is None
    assert OWN.first(pk=regimen.pk + 1000, user_id=user) is None
    Patient.objects.filter(pk=personas.patient.pk).update(is_active=False)
    assert OWN.first(pk=regimen.pk, user_id=user) is None  # the fixed condition holds too


def test_datetimes_and_ordering_match_the_queryset_at_every_moment(personas):
    regimen, started = _regimen(personas)
    for offset in (timedelta(days=-1), timedelta(0), timedelta(days=3), timedelta(days=5), timedelta(days=9)):
        moment = started + offset
        expected = (
            RegimenVersion.objects.filter(regimen_id=regimen.pk, effective_at__lte=moment)
            .order_by("-effective_at", "-number")
            .first()
        )
        found = AT.first(regimen_id=regimen.pk, moment=moment)
        assert (found and found.pk) == (expected and expected.pk), offset
        if found is not None:
            assert found.dose_amount == expected.dose_amount  # converters applied (a Decimal)
    assert AT.first(regimen_id=regimen.pk, moment=started + timedelta(days=9)).dose_amount == 100


def test_an_argument_missing_from_the_query_is_refused():
    broken = PreparedLookup(lambda pk, unused: Regimen.objects.filter(pk=pk), pk=int, unused=int)
    with pytest.raises(ValueError, match="each argument"):
        broken.first(pk=1, unused=2)


ALL_AT = PreparedLookup(
    lambda regimen_id, moment: (
        RegimenVersion.objects.filter(regimen_id=regimen_id, effective_at__lte=moment)
        .annotate(
            later=Exists(RegimenVersion.objects.filter(regimen_id=regimen_id, number__gt=OuterRef("number")))
        )
        .order_by("-effective_at", "-number")
    ),
    regimen_id=int,
    moment=datetime,
)


def _later(version: Any) -> bool:
    return bool(version.later)


def test_every_row_with_its_annotations_and_an_argument_used_twice(personas):
    regimen, started = _regimen(personas)
    for offset in (timedelta(days=-1), timedelta(days=3), timedelta(days=9)):
        moment = started + offset
        expected = list(
            RegimenVersion.objects.filter(regimen_id=regimen.pk, effective_at__lte=moment)
            .annotate(
                later=Exists(
                    RegimenVersion.objects.filter(regimen_id=regimen.pk, number__gt=OuterRef("number"))
                )
            )
            .order_by("-effective_at", "-number")
        )
        found = ALL_AT.all(regimen_id=regimen.pk, moment=moment)
        assert [(v.pk, _later(v)) for v in found] == [(v.pk, _later(v)) for v in expected], offset
    assert [_later(v) for v in ALL_AT.all(regimen_id=regimen.pk, moment=started + timedelta(days=9))] == [
        False,
        True,
    ]


def test_a_date_argument_matches_a_date_field(personas):
    from tandem.patients.models import CareTeamMember, active_on

    members = PreparedLookup(
        lambda patient_id, day: CareTeamMember.objects.filter(active_on(day), patient_id=patient_id).order_by(
            "pk"
        ),
        patient_id=int,
        day=date,
    )
    today = timezone.localdate()
    for day in (today - timedelta(days=400), today, today + timedelta(days=1)):
        expected = list(
            CareTeamMember.objects.filter(active_on(day), patient_id=personas.patient.pk).order_by("pk")
        )
        assert [m.pk for m in members.all(patient_id=personas.patient.pk, day=day)] == [
            m.pk for m in expected
        ]
    assert members.all(patient_id=personas.patient.pk, day=today)  # the care team is there today
