"""Visits and feedback for feedback tests, made directly (the scheduling pages make them in use)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.utils import timezone

from tandem.feedback.actions import do_give_visit_feedback
from tandem.feedback.models import VisitFeedback
from tandem.therapy.models import Session, SessionKind, SessionStatus

_keys = itertools.count(1)


def visit(
    patient: Any,
    clinician: Any,
    *,
    days_ago: float = 1,
    kind: str = SessionKind.THERAPY,
    status: str = SessionStatus.ATTENDED,
) -> Session:
    return Session.objects.create(
        patient=patient,
        clinician=clinician,
        kind=kind,
        starts_at=timezone.now() - timedelta(days=days_ago),
        status=status,
    )


def ratings(heard: int = 8, goals: int = 8, approach: int = 8, overall: int = 8) -> dict[str, int]:
    return {"heard": heard, "goals": goals, "approach": approach, "overall": overall}


def give(session: Session, user: Any, texts: dict[str, str] | None = None, **scores: int) -> VisitFeedback:
    feedback, _ = do_give_visit_feedback(
        session,
        ratings=ratings(**scores),
        texts=texts or {},
        idempotency_key=f"test-key-{next(_keys):06d}",
        acting_user=user,
    )
    return feedback
