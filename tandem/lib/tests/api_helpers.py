"""Pat's record as a phone app sees it, and clients that authenticate the way an app does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from tandem.accounts.actions import do_create_api_token
from tandem.audit.models import AuditEvent
from tandem.handoffs.messaging import do_start_thread
from tandem.handoffs.models import Audience, Thread
from tandem.medications.actions import do_start_regimen
from tandem.medications.models import Regimen
from tandem.plans.actions import do_create_plan, do_set_plan_status

# What a patient's app asks for: its own doses, questionnaires, side effects and messages.
PATIENT_APP_SCOPES = (
    "user/MedicationAdministration.cs user/Questionnaire.s user/QuestionnaireResponse.c "
    "user/AdverseEvent.cs user/Communication.crs"
)


def token(user, scopes: str = PATIENT_APP_SCOPES) -> str:
    _, raw = do_create_api_token(user, scopes=scopes, expires_at=None)
    return raw


def app(user, scopes: str = PATIENT_APP_SCOPES) -> Client:
    """A client that authenticates as a phone app would: with the user's bearer token."""
    return Client(headers={"Authorization": f"Bearer {token(user, scopes)}"})


def last_seq() -> int:
    last = AuditEvent.objects.order_by("-seq").first()
    return last.seq if last else 0


@dataclass
class Record:
    scheduled: Regimen
    as_needed: Regimen
    thread: Thread
    team_thread: Thread


def pats_record(personas) -> Record:
    """Sertraline at 08:00 and 20:00 and hydroxyzine as needed since yesterday, an active plan
    with PHQ-9 every 14 days (so it is due), a thread shared with Pat and one the team keeps."""
    start = timezone.now() - timedelta(days=1)
    common = {"acting_user": personas.prescriber, "role": "prescriber", "effective_at": start}
    scheduled = do_start_regimen(
        personas.patient,
        drug_key="sertraline",
        drug_name="Sertraline",
        drug_classes=["ssri"],
        dose_amount=50,
        times=["08:00", "20:00"],
        reason="Start for depression",
        **common,
    )
    as_needed = do_start_regimen(
        personas.patient,
        drug_key="hydroxyzine",
        drug_name="Hydroxyzine",
        drug_classes=["anxiolytic"],
        dose_amount=25,
        schedule_kind="prn",
        prn_max_per_day=4,
        reason="Anxiety",
        **common,
    )
    plan = do_create_plan(
        personas.patient,
        acting_user=personas.prescriber,
        content={"monitoring": [{"instrument": "phq9", "every_days": 14}]},
    )
    do_set_plan_status(plan, "active", acting_user=personas.prescriber)
    threads = []
    for audience, key in ((Audience.TEAM_PATIENT, "api-thread-1"), (Audience.TEAM, "api-thread-2")):
        thread, _ = do_start_thread(
            personas.patient,
            audience=audience,
            subject="Sleep",
            body="How are you sleeping?",
            acting_user=personas.therapist,
            author_role="therapist",
            idempotency_key=key,
        )
        threads.append(thread)
    return Record(scheduled, as_needed, threads[0], threads[1])
