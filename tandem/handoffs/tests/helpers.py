from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.utils import timezone

from tandem.handoffs.actions import do_send_handoff
from tandem.handoffs.messaging import do_start_thread
from tandem.handoffs.models import Audience, Handoff, Thread

_keys = count(1)


def key() -> str:
    return f"test-key-{next(_keys):06d}"


def observation(
    personas, *, text: str = "Says she sleeps 3 hours since the dose went up", **extra
) -> Handoff:
    handoff, _ = do_send_handoff(
        personas.patient,
        kind="session_observation",
        sender=personas.therapist,
        recipient=personas.prescriber,
        due_by=timezone.now() + timedelta(days=2),
        details={"observation_type": "side_effect", "observation": text},
        **extra,
    )
    return handoff


def shared_thread(
    personas, *, audience: str = Audience.TEAM_PATIENT, body: str = "How are you sleeping?"
) -> Thread:
    thread, _ = do_start_thread(
        personas.patient,
        audience=audience,
        subject="Sleep",
        body=body,
        acting_user=personas.therapist,
        author_role="therapist",
        idempotency_key=key(),
    )
    return thread
