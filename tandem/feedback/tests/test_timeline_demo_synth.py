"""Check-ins on the team's timeline, visit feedback never; the demo and synthetic data."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tandem.feedback import demo, synth
from tandem.feedback.models import CheckIn, VisitFeedback
from tandem.feedback.tests.factories import give, visit
from tandem.lib.timeline import collect, registry
from tandem.patients.access import PatientGrant, grant_for

pytestmark = pytest.mark.django_db


def grant(user, patient) -> PatientGrant:
    found = grant_for(user, patient)
    assert found is not None
    return found


def test_check_ins_are_on_the_timeline_with_mood_and_anxiety(personas):
    CheckIn.objects.create(
        patient=personas.patient, day=timezone.localdate(), mood=6, anxiety=3, note="Private-ish"
    )
    page = collect(personas.patient, grant(personas.consultant, personas.patient), None, None, 50)
    (event,) = [e for e in page.events if e.kind == "checkin"]
    assert "mood 6/10" in event.title and "anxiety 3/10" in event.title
    assert "Private-ish" not in event.title + event.detail


def test_visit_feedback_is_never_on_the_timeline(personas):
    give(
        visit(personas.patient, personas.therapist),
        personas.patient_user,
        texts={"working": "Secret words"},
        overall=2,
    )
    for user in (personas.care_manager, personas.therapist, personas.consultant):
        page = collect(personas.patient, grant(user, personas.patient), None, None, 50)
        text = " ".join(e.title + e.detail for e in page.events)
        assert "Secret words" not in text and "feedback" not in text.lower()
    for source in registry.sources():
        if hasattr(source, "queryset"):
            assert source.queryset(personas.patient).model is not VisitFeedback


def test_the_consented_clinician_without_therapy_summaries_sees_no_check_ins(personas):
    CheckIn.objects.create(patient=personas.patient, day=timezone.localdate(), mood=6)
    page = collect(personas.patient, grant(personas.consented, personas.patient), None, None, 50)
    assert not [e for e in page.events if e.kind == "checkin"]


def load_demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def demo_context(org):
    from tandem.core.seeding import DemoContext

    return DemoContext(
        password="x",
        today=timezone.localdate(),
        rng=random.Random(1),
        out=io.StringIO(),
        orgs={"demo-clinic": org},
    )


def test_the_demo_makes_check_ins_only_when_there_are_no_visits_and_says_so(personas):
    ctx = demo_context(personas.home)
    demo.build(ctx)
    count = CheckIn.objects.count()
    assert count > 40
    assert set(CheckIn.objects.values_list("patient_id", flat=True)) == {
        personas.patient.pk,
        personas.other_patient.pk,
    }
    assert "no attended visits yet" in ctx.out.getvalue()
    assert not VisitFeedback.objects.exists()
    demo.build(demo_context(personas.home))
    assert CheckIn.objects.count() == count


def test_the_demo_gives_feedback_on_visits_with_one_declining_pair_and_is_idempotent(personas):
    from tandem.accounts.models import Notification

    p = personas
    for weeks in range(6, 0, -1):
        visit(p.patient, p.therapist, days_ago=7 * weeks + 8)
    latest = visit(p.patient, p.therapist, days_ago=2)  # Pat has the portal: left for Pat to rate
    demo.build(demo_context(p.home))
    rows = list(VisitFeedback.objects.filter(patient=p.patient, clinician=p.therapist).order_by("visit_at"))
    assert [r.overall for r in rows] == demo.DECLINING_OVERALL
    assert rows[-1].findings
    assert not VisitFeedback.objects.filter(session=latest).exists()
    assert Notification.objects.filter(user=p.therapist, text__contains="needs your attention").count() == 1
    assert not Notification.objects.exclude(user=p.therapist).filter(text__contains="feedback").exists()
    demo.build(demo_context(p.home))
    assert VisitFeedback.objects.filter(patient=p.patient).count() == 6
    assert Notification.objects.filter(user=p.therapist, text__contains="needs your attention").count() == 1


def test_running_the_whole_demo_twice_adds_nothing(db):
    load_demo()
    counts = (CheckIn.objects.count(), VisitFeedback.objects.count())
    assert counts[0] > 0
    load_demo()
    assert (CheckIn.objects.count(), VisitFeedback.objects.count()) == counts


def test_synth_makes_thirty_days_of_check_ins_for_one_patient_in_five(db):
    out = io.StringIO()
    call_command("synth", "--patients", "50", "--no-progress", stdout=out)
    assert "check-ins" in out.getvalue()
    patients = CheckIn.objects.values("patient_id").distinct().count()
    assert patients == 10
    days = set(CheckIn.objects.values_list("day", flat=True))
    from tandem.core.management.commands.synth import ANCHOR

    assert min(days) >= ANCHOR - timedelta(days=30) and max(days) < ANCHOR
    assert isinstance(min(days), date)
    # Visit feedback on the same patients' attended visits, one per visit.
    from tandem.therapy.models import Session

    rated = VisitFeedback.objects.all()
    assert rated.exists()
    assert set(rated.values_list("patient_id", flat=True)) <= set(
        CheckIn.objects.values_list("patient_id", flat=True)
    )
    attended = Session.objects.filter(pk__in=rated.values("session_id"), status="attended").count()
    assert attended == rated.count()


def test_synth_is_deterministic_for_a_seed(db):
    from tandem.core.seeding import SynthContext

    class Progress:
        def set_description(self, _):
            pass

        def reset(self, total):
            pass

        def update(self, n):
            pass

    from tandem.lib.testing import build_personas

    p = build_personas()
    ids = sorted([p.patient.pk, p.other_patient.pk])

    def run():
        CheckIn.objects.all().delete()
        ctx = SynthContext(
            patients=2,
            seed=3,
            rng=random.Random(3),
            anchor=date(2026, 1, 5),
            progress=Progress(),
            patient_id_range=(ids[0], ids[-1]),
        )
        synth.generate(ctx)
        return list(
            CheckIn.objects.order_by("patient_id", "day").values_list(
                "patient_id", "day", "mood", "sleep_hours"
            )
        )

    assert run() == run() and run()
