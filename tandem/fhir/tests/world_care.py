"""Care records around Pat for the FHIR tests, made through the apps' actions: lab results and
vital signs, sessions (attended in person and by video, a no-show, one booked, one cancelled),
message threads (team-only and shared with Pat), hand-offs. Oli gets one of several kinds, which
nobody on Pat's team may see. (Pat's risk-assessment task comes from the world's positive PHQ-9
item 9.)"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tandem.handoffs.actions import do_acknowledge_handoff, do_complete_handoff, do_send_handoff
from tandem.handoffs.messaging import do_post_message, do_start_thread
from tandem.handoffs.models import Audience
from tandem.medications.monitoring import do_record_lab
from tandem.therapy.actions import do_schedule_sessions, do_set_session_status
from tandem.therapy.models import Session, SessionStatus, Setting

TEAM = {"prescriber", "therapist", "care_manager", "consultant"}
# Whose resources each persona sees.
SEES_PAT = {
    "Appointment": TEAM | {"patient"},
    "Task": TEAM,
    "Encounter": TEAM | {"patient"},
    "Communication": TEAM | {"patient"},
}


def lab(patient: Any, user: Any, kind: str, value: str, unit: str, days_ago: float, **extra: Any) -> Any:
    return do_record_lab(
        patient,
        kind=kind,
        value=Decimal(value),
        unit=unit,
        observed_at=timezone.now().replace(microsecond=0) - timedelta(days=days_ago),
        acting_user=user,
        **extra,
    ).lab


def session(patient: Any, clinician: Any, kind: str, days: int, hour: int, **extra: Any) -> Session:
    day = timezone.localtime(timezone.now(), patient.tz).date() + timedelta(days=days)
    return do_schedule_sessions(
        patient, clinician=clinician, kind=kind, day=day, wall=time(hour, 0), acting_user=clinician, **extra
    ).first


def build(personas: Any, world: Any) -> None:
    pat, oli = personas.patient, personas.other_patient
    prescriber, therapist = personas.prescriber, personas.therapist
    labs = {
        "lithium": lab(pat, prescriber, "lithium_level", "0.6", "mmol/L", 20),
        "creatinine": lab(pat, prescriber, "creatinine", "88", "µmol/L", 5, external_id="urn:lab:acme|A-1"),
        "weight": lab(pat, prescriber, "weight", "80.5", "kg", 15),
        "systolic": lab(pat, prescriber, "bp_systolic", "150", "mmHg", 2),
        "qtc": lab(pat, prescriber, "qtc", "430", "ms", 3),
        "oli": lab(oli, personas.colleague, "lithium_level", "0.7", "mmol/L", 4),
    }
    attended = session(pat, therapist, "therapy", -14, 10)
    do_set_session_status(attended, SessionStatus.ATTENDED, acting_user=therapist)
    video = session(
        pat,
        prescriber,
        "medication",
        -7,
        11,
        setting=Setting.TELEHEALTH,
        telehealth_url="https://video.example.test/room",
    )
    do_set_session_status(video, SessionStatus.ATTENDED, acting_user=prescriber)
    missed = session(pat, therapist, "therapy", -21, 10)
    do_set_session_status(missed, SessionStatus.NO_SHOW, acting_user=therapist)
    booked = session(pat, therapist, "therapy", 7, 10)
    cancelled = session(pat, therapist, "therapy", 14, 10)
    do_set_session_status(cancelled, SessionStatus.CANCELLED, reason="Therapist away", acting_user=therapist)
    oli_session = session(oli, personas.colleague, "therapy", -10, 9)
    do_set_session_status(oli_session, SessionStatus.ATTENDED, acting_user=personas.colleague)

    team_thread, _ = do_start_thread(
        pat,
        audience=Audience.TEAM,
        subject="Lithium level",
        body="Level 0.6 — no change needed.",
        acting_user=prescriber,
        author_role="prescriber",
        idempotency_key="care-world-thread-1",
    )
    shared, _ = do_start_thread(
        pat,
        audience=Audience.TEAM_PATIENT,
        subject="Next visit",
        body="See you next week.",
        acting_user=therapist,
        author_role="therapist",
        idempotency_key="care-world-thread-2",
    )
    reply, _ = do_post_message(
        shared,
        body="Thanks, see you then.",
        acting_user=personas.patient_user,
        author_role="patient",
        idempotency_key="care-world-reply-1",
    )
    oli_thread, _ = do_start_thread(
        oli,
        audience=Audience.TEAM_PATIENT,
        subject="Hello Oli",
        body="A message for Oli.",
        acting_user=personas.colleague,
        author_role="therapist",
        idempotency_key="care-world-thread-3",
    )

    consult, _ = do_send_handoff(
        pat,
        kind="consult_request",
        sender=therapist,
        recipient=prescriber,
        due_by=timezone.now() + timedelta(days=5),
        details={"question": "Is the dose still right?", "urgency": "routine"},
    )
    do_acknowledge_handoff(consult, acting_user=prescriber)
    change, _ = do_send_handoff(
        pat,
        kind="medication_change",
        sender=prescriber,
        recipient=therapist,
        due_by=timezone.now() + timedelta(days=3),
        details={"what_changed": "Lithium 600 → 900 mg", "watch_for": "Tremor, thirst"},
    )
    do_complete_handoff(change, note="Discussed in session", acting_user=therapist)

    world.extra["care"] = {
        "labs": labs,
        "sessions": {
            "attended": attended,
            "video": video,
            "missed": missed,
            "booked": booked,
            "cancelled": cancelled,
            "oli": oli_session,
        },
        "threads": {"team": team_thread, "shared": shared, "oli": oli_thread},
        "reply": reply,
        "handoffs": {"consult": consult, "change": change},
    }
