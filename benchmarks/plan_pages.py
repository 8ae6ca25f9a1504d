"""The treatment plan in a 100 000-patient database: the clinician's plan page for a patient of
the benchmark care manager, and the patient's own plan page in the portal (`bench.patient…`,
the synthetic population's one portal account). Every request writes its audit row."""

from __future__ import annotations

from django.test import Client
from django.urls import NoReverseMatch, reverse
from harness import BenchmarkError, Result, measure

from tandem.accounts.models import User
from tandem.patients.models import Patient


def run(seed: int, clinician: User, *, requests: int, warmup: int) -> list[Result]:
    patient = Patient.objects.filter(
        portal_user__email__startswith="bench.patient", mrn__startswith=f"S{seed}-"
    ).first()
    if patient is None or patient.portal_user is None:
        raise BenchmarkError(f"no benchmark patient for seed {seed}; rebuild the synthetic population")
    client = Client()
    client.force_login(clinician)
    results = [
        measure(
            client,
            "plan page (clinician)",
            reverse("plans:plan", kwargs={"patient_id": patient.pk}),
            requests=requests,
            warmup=warmup,
        ),
    ]
    try:
        portal = reverse("portal:plan")
    except NoReverseMatch:
        return results
    client = Client()
    client.force_login(patient.portal_user)
    results.append(measure(client, "plan page (patient portal)", portal, requests=requests, warmup=warmup))
    return results
