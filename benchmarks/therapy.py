"""Therapy in a 100 000-patient database.

- The patient's therapy page (sessions, attendance, check-ins beside them) for a patient of the
  benchmark care manager (target p95 < 100 ms).
- A skills-practice submit from the portal: the synthetic population's portal patient sends a
  thought record (target p95 < 50 ms). Each submit is a new entry with its audit row.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from harness import BenchmarkError, Result, measure, measure_call

from tandem.accounts.models import Role, User
from tandem.patients.models import CareTeamMember, Patient

SUBMIT_TARGET_MS = 50.0
THOUGHT_RECORD = {
    "situation": "Boss walked past without saying hello",
    "emotions-0-name": "Anxious",
    "emotions-0-rating": "80",
    "thoughts-0-text": "She is going to fire me",
    "hot": "0",
    "evidence_for": "She looked annoyed",
    "evidence_against": "She praised my report last week",
    "balanced": "She may just have been busy",
    "belief": "60",
    "emotions-0-after": "40",
}


def therapy_page(seed: int, clinician: User, *, requests: int, warmup: int) -> Result:
    patient = Patient.objects.filter(mrn=f"S{seed}-{1:07d}").first()
    if patient is None:
        raise BenchmarkError(f"no synthetic patient S{seed}-0000001")
    client = Client()
    client.force_login(clinician)
    return measure(
        client,
        "therapy page (clinician)",
        reverse("therapy:overview", kwargs={"patient_id": patient.pk}),
        requests=requests,
        warmup=warmup,
    )


def practice_submit(seed: int, *, requests: int, warmup: int) -> Result:
    from tandem.practice.actions import do_assign, patient_today
    from tandem.practice.models import Assignment

    patient = (
        Patient.objects.filter(portal_user__email__startswith="bench.patient", mrn__startswith=f"S{seed}-")
        .select_related("portal_user")
        .first()
    )
    if patient is None or patient.portal_user is None:
        raise BenchmarkError("no benchmark patient; rebuild the synthetic population")
    assignment = Assignment.objects.filter(
        patient=patient, template="thought_record", ended_at__isnull=True
    ).first()
    if assignment is None:
        member = (
            CareTeamMember.objects.filter(patient=patient, role=Role.THERAPIST).select_related("user").first()
        )
        if member is None:
            raise BenchmarkError("the benchmark patient has no therapist")
        assignment = do_assign(
            patient,
            template="thought_record",
            frequency="daily",
            start=patient_today(patient) - timedelta(days=1),
            end=None,
            acting_user=member.user,
            role="therapist",
        )
    url = reverse("portal_practice:fill", kwargs={"assignment_id": assignment.pk})
    client = Client()
    client.force_login(patient.portal_user)

    def submit() -> None:
        data = {**THOUGHT_RECORD, "key": secrets.token_urlsafe(12), "version": "1", "action": "submit"}
        response = client.post(url, data)
        if response.status_code != 302:
            raise BenchmarkError(f"POST {url} answered {response.status_code}: {response.content[:300]!r}")

    return measure_call(
        "practice submit (patient portal)",
        url,
        submit,
        requests=requests,
        warmup=warmup,
        target_ms=SUBMIT_TARGET_MS,
    )
