"""Case-review writes: a team member's request, the consultant's recommendation (→ a hand-off).

Each is one transaction with its audit event; a repeated idempotency key returns the first row.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tandem.accounts.models import Role, User
from tandem.audit.actions import audit_patient_event
from tandem.audit.models import Action
from tandem.handoffs.actions import do_send_handoff, team_roles
from tandem.handoffs.kinds import HandoffError
from tandem.handoffs.models import HandoffKind
from tandem.patients.models import Patient
from tandem.registry.models import REASON_MAX, TEXT_MAX, Area, Recommendation, ReviewRequest

KEY_MAX = 60  # the hand-off key adds a 3-character prefix within its 64
RECOMMENDATION_DUE = timedelta(days=7)
# Who acts on each kind of recommendation: the prescriber for medication, the therapist for therapy.
RECIPIENT_ROLES = {
    Area.MEDICATION: frozenset({Role.PRESCRIBER}),
    Area.THERAPY: frozenset({Role.THERAPIST}),
    Area.OTHER: frozenset({Role.PRESCRIBER, Role.THERAPIST}),
}


class RegistryError(ValueError):
    """Bad input for a case-review action, named by its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def week_of(day: date) -> date:
    """Monday of the week containing `day`: case review runs by calendar week."""
    return day - timedelta(days=day.weekday())


def _key(raw: str) -> str:
    key = (raw or "").strip()
    if len(key) > KEY_MAX:
        raise RegistryError("key", "this form could not be sent; reload the page and send it again")
    return key


def do_request_review(
    patient: Patient,
    *,
    acting_user: User,
    reason: str,
    idempotency_key: str = "",
    request: HttpRequest | None = None,
) -> tuple[ReviewRequest, bool]:
    """Ask for the patient to be discussed at this week's case review; (request, created)."""
    key = _key(idempotency_key)
    if key:
        existing = ReviewRequest.objects.filter(requested_by=acting_user, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    roles = team_roles(patient, acting_user)
    if not roles:
        raise RegistryError(
            "patient", f"only members of {patient.name}'s active care team request a case review"
        )
    text = " ".join((reason or "").split())
    if not text:
        raise RegistryError("reason", "say why the patient should be reviewed")
    if len(text) > REASON_MAX:
        raise RegistryError("reason", f"at most {REASON_MAX} characters (this is {len(text)})")
    with transaction.atomic():
        row = ReviewRequest.objects.create(
            patient=patient,
            week=week_of(timezone.localdate()),
            requested_by=acting_user,
            requested_role=roles[0],
            reason=text,
            idempotency_key=key,
        )
        audit_patient_event(
            acting_user,
            Action.CREATE,
            "ReviewRequest",
            row.pk,
            patient,
            request=request,
            role=roles[0],
            week=row.week.isoformat(),
        )
    return row, True


def do_record_recommendation(
    patient: Patient,
    *,
    consultant: User,
    area: str,
    text: str,
    recipient: str | int | None,
    idempotency_key: str = "",
    request: HttpRequest | None = None,
) -> tuple[Recommendation, bool]:
    """Record the consultant's recommendation at this week's review and send it, as a case-review
    hand-off due in 7 days, to the prescriber (medication) or the therapist (therapy; either for
    "other"). Refused with the field named when the consultant is not on the team, the area is
    unknown, the text is empty or too long, or the recipient does not hold the role."""
    key = _key(idempotency_key)
    if key:
        existing = Recommendation.objects.filter(consultant=consultant, idempotency_key=key).first()
        if existing is not None:
            return existing, False
    if Role.PSYCHIATRIC_CONSULTANT not in team_roles(patient, consultant):
        raise RegistryError(
            "consultant",
            f"only the psychiatric consultant on {patient.name}'s care team records recommendations",
        )
    if area not in Area.values:
        raise RegistryError("area", "choose one of: " + ", ".join(Area.labels))
    body = (text or "").strip()
    if not body:
        raise RegistryError("text", "write the recommendation")
    if len(body) > TEXT_MAX:
        raise RegistryError("text", f"at most {TEXT_MAX} characters (this is {len(body)})")
    raw = str(recipient or "").strip()
    to = User.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None
    if to is None:
        raise RegistryError("recipient", "choose the prescriber or the therapist who should act on it")
    wanted = RECIPIENT_ROLES[Area(area)]
    if not set(team_roles(patient, to)) & wanted:
        who = " or ".join(sorted(Role(r).label.lower() for r in wanted))
        raise RegistryError(
            "recipient",
            f"a {Area(area).label.lower()} recommendation goes to the patient's {who}; {to.display_name} is not one on the active care team",
        )
    now = timezone.now()
    week = week_of(timezone.localdate())
    with transaction.atomic():
        try:
            handoff, _ = do_send_handoff(
                patient,
                kind=HandoffKind.CASE_REVIEW,
                sender=consultant,
                recipient=to,
                due_by=now + RECOMMENDATION_DUE,
                details={"area": area, "recommendation": body},
                source=f"Case review, week of {week:%-d %B %Y}",
                idempotency_key=f"cr-{key}" if key else "",
                request=request,
                now=now,
            )
        except HandoffError as exc:
            raise RegistryError(
                "recipient" if exc.field in ("recipient", "sender") else "text", str(exc)
            ) from exc
        row = Recommendation.objects.create(
            patient=patient,
            week=week,
            area=area,
            text=body,
            consultant=consultant,
            recipient=to,
            handoff=handoff,
            idempotency_key=key,
        )
        audit_patient_event(
            consultant,
            Action.CREATE,
            "CaseReviewRecommendation",
            row.pk,
            patient,
            request=request,
            role=Role.PSYCHIATRIC_CONSULTANT,
            area=area,
            handoff=handoff.pk,
            week=week.isoformat(),
        )
    return row, True
